// Runs the `script:` of an actions/github-script step locally, against a fake GitHub API, the
// way github-script v8 does: as the body of an async function of (require, github, context,
// core). Used by `make ci-local` and tests/test_github_workflows.py; it talks to no network.
//
//   node ci/github-script.js SCRIPT_FILE STATE_FILE
//
// STATE_FILE (JSON) holds `context` and the fake repository: `pulls` (number -> pull request),
// `comments` (number -> list), `artifacts` (run id -> names). The harness writes it back with
// the API `calls` made, the step's `outputs`, its log lines and, if it failed, `failed`.
'use strict';

const fs = require('fs');

const [scriptFile, stateFile] = process.argv.slice(2);
const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
state.calls = state.calls || [];
state.log = [];
state.outputs = {};
delete state.failed;
state.comments = state.comments || {};
let nextId = 1000 + Object.values(state.comments).flat().length;

function httpError(status, message) {
  const error = new Error(message);
  error.status = status;
  return error;
}

function record(name, params) {
  state.calls.push({ call: name, params });
}

const github = {
  rest: {
    actions: {
      async listWorkflowRunArtifacts(params) {
        record('actions.listWorkflowRunArtifacts', params);
        const names = (state.artifacts || {})[String(params.run_id)] || [];
        const artifacts = names
          .filter((name) => !params.name || name === params.name)
          .map((name, index) => ({ id: index + 1, name, expired: false }));
        return { data: { total_count: artifacts.length, artifacts } };
      },
    },
    pulls: {
      async get(params) {
        record('pulls.get', params);
        const pr = (state.pulls || {})[String(params.pull_number)];
        if (!pr) throw httpError(404, 'Not Found');
        return { data: pr };
      },
    },
    issues: {
      async listComments(params) {
        record('issues.listComments', params);
        return { data: state.comments[String(params.issue_number)] || [] };
      },
      async createComment(params) {
        record('issues.createComment', params);
        if (params.body.length > 65536) throw httpError(422, 'body is too long');
        const id = nextId++;
        const comment = {
          id,
          body: params.body,
          user: { login: 'github-actions[bot]', type: 'Bot' },
          html_url: `https://github.com/${params.owner}/${params.repo}/pull/${params.issue_number}#issuecomment-${id}`,
        };
        const key = String(params.issue_number);
        state.comments[key] = [...(state.comments[key] || []), comment];
        return { data: comment };
      },
      async updateComment(params) {
        record('issues.updateComment', params);
        if (params.body.length > 65536) throw httpError(422, 'body is too long');
        for (const list of Object.values(state.comments)) {
          const comment = list.find((c) => c.id === params.comment_id);
          if (comment) {
            comment.body = params.body;
            return { data: comment };
          }
        }
        throw httpError(404, 'Not Found');
      },
    },
  },
  async paginate(method, params) {
    const { data } = await method(params);
    return Array.isArray(data) ? data : data.items || [];
  },
};

const core = {
  setOutput(name, value) {
    state.outputs[name] = String(value);
  },
  setFailed(message) {
    state.failed = String(message);
    state.log.push(`::error::${message}`);
  },
  info: (message) => state.log.push(String(message)),
  notice: (message) => state.log.push(`::notice::${message}`),
  warning: (message) => state.log.push(`::warning::${message}`),
  error: (message) => state.log.push(`::error::${message}`),
  debug: () => {},
};

const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
const script = fs.readFileSync(scriptFile, 'utf8');

(async () => {
  try {
    await new AsyncFunction('require', 'github', 'context', 'core', script)(
      require,
      github,
      state.context,
      core,
    );
  } catch (error) {
    core.setFailed(`unhandled error: ${error.message}`);
  }
  fs.writeFileSync(stateFile, JSON.stringify(state, null, 2));
  for (const line of state.log) console.log(line);
  process.exit(state.failed ? 1 : 0);
})();
