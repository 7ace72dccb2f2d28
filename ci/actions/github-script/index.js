// The github-script stand-in's work (action.yml has the contract).
'use strict';

const core = require('@actions/core');
const { context, getOctokit } = require('@actions/github');

async function main() {
  const token = core.getInput('github-token', { required: true });
  const encoding = core.getInput('result-encoding') || 'json';
  if (!['json', 'string'].includes(encoding)) {
    throw new Error(`result-encoding '${encoding}': give json or string`);
  }
  const options = { userAgent: core.getInput('user-agent') || 'actions/github-script' };
  if (core.getInput('base-url')) options.baseUrl = core.getInput('base-url');
  if (core.getBooleanInput('debug')) options.log = console;
  const github = getOctokit(token, options);

  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
  const script = core.getInput('script', { required: true });
  const run = new AsyncFunction('require', 'github', 'context', 'core', script);
  const result = await run(require, github, context, core);
  if (result !== undefined) {
    core.setOutput('result', encoding === 'string' ? String(result) : JSON.stringify(result));
  }
}

main().catch((error) => {
  console.error(error);
  core.setFailed(`Unhandled error: ${error}`);
});
