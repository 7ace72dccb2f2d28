#!/usr/bin/env bash
# The steps of .github/workflows/benchmarks.yml that take more than one command. Called by the
# Makefile's ci-* targets, which pass BIN, CORES and CI_CONFIG; `make ci-local` rehearses them.
#
#   ci/ci.sh ab          same-job A/B: a pull request against its merge base, a push against
#                        the commit before it
#   ci/ci.sh bench       the suite against the stored baseline
#   ci/ci.sh history     the daily run: bisect the change points among the newest baseline
#                        versions (results/history.parquet), culprits in the job summary
#   ci/ci.sh report      comment body, pr.json and the job summary
#   ci/ci.sh check       the regression check(s); fails the job
#   ci/ci.sh baselines   take the stored baselines from $BASELINE_BRANCH (protected main)
#   ci/ci.sh publish     add a baseline version and push it ($CI_DRY_RUN=1: commit, no push)
#
# Values from GitHub (branch names, numbers) arrive as environment variables and are only ever
# expanded inside double quotes, never spliced into a command line.
set -euo pipefail

BIN=${BIN:-.venv/bin}
CORES=${CORES:-4}
CI_CONFIG=${CI_CONFIG:-config/config.yaml}
STATE=results/ci # what one step tells the next (the A/B base); uploaded with the results
PUSH_ATTEMPTS=${PUSH_ATTEMPTS:-5}
PUSH_RETRY_DELAY=${PUSH_RETRY_DELAY:-2} # seconds, times the attempt squared, plus jitter

# Against the stored baseline CI gates on what is deterministic (instruction counts) and on
# memory and errors; wall time is gated by the same-job A/B, and reported here as a trend.
STORED_GATE=${STORED_GATE:-instructions,memory,error_rate}

# CI_SNAKEMAKE_DRY_RUN=1: Snakemake plans each step's jobs and runs none (--dry-run), so a
# rehearsal of the workflow's plumbing takes seconds (tests/test_act_rehearsal.py); the report
# step then says that each report did not finish.
SNAKEMAKE_DRY_RUN=()
[[ ${CI_SNAKEMAKE_DRY_RUN:-0} == 1 ]] && SNAKEMAKE_DRY_RUN=(--dry-run)

snakemake_ci() {
    # One --config (a second would replace the first), with the stored gate added to it;
    # --configfile=X, not --configfile X: the option takes several files and would eat targets.
    local gate arg args=() found=0
    gate=$(printf '"%s",' ${STORED_GATE//,/ })
    gate="compare={\"gate\": [${gate%,}]}"
    for arg in "$@"; do
        args+=("$arg")
        if [[ $arg == --config ]]; then
            args+=("$gate")
            found=1
        fi
    done
    ((found)) || args+=(--config "$gate")
    "$BIN/snakemake" --cores "$CORES" "${SNAKEMAKE_DRY_RUN[@]}" "${args[@]}" --configfile="$CI_CONFIG"
}

cortexbench() {
    # This checkout's code, as the workflow's rules run it (whatever the venv points at).
    PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}" "$BIN/python" -m cortexbench "$@"
}

baseline_setting() { # name | directory, as the config says
    PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}" "$BIN/python" -c \
        'import sys; from cortexbench.config import load_config
print(load_config(sys.argv[1])["baseline"][sys.argv[2]])' "$CI_CONFIG" "$1"
}

summary() { # append stdin to the job summary, when there is one
    if [[ -n ${GITHUB_STEP_SUMMARY:-} ]]; then cat >>"$GITHUB_STEP_SUMMARY"; else cat >/dev/null; fi
}

ab_base() { [[ -f $STATE/ab-base ]] && cat "$STATE/ab-base"; }

step_ab() {
    local base
    case ${GITHUB_EVENT_NAME:-} in
    pull_request)
        # The checkout is the merge commit; its merge base with the target branch is the
        # target's commit the pull request is measured against.
        base=$(git merge-base HEAD "refs/remotes/origin/${GITHUB_BASE_REF:?GITHUB_BASE_REF is unset}")
        echo "A/B: this tree's kernels against the merge base $base (origin/$GITHUB_BASE_REF)"
        ;;
    push)
        # The commit the branch pointed at before this push (all zeros for a new branch).
        base=${PUSH_BEFORE:-}
        if [[ ! $base =~ ^[0-9a-f]{40,64}$ || $base =~ ^0+$ ]] ||
            ! git cat-file -e "$base^{commit}" 2>/dev/null; then
            echo "A/B: no commit before this push to compare with (before: ${base:-none}); skipped"
            return 0
        fi
        echo "A/B: this push against the commit before it, $base"
        ;;
    *)
        echo "the A/B runs on pull requests and pushes, not on ${GITHUB_EVENT_NAME:-no event}" >&2
        return 2
        ;;
    esac
    mkdir -p "$STATE"
    printf '%s\n' "$base" >"$STATE/ab-base"
    snakemake_ci "results/ab/$base/report.md" --config "base=$base"
}

step_bench() {
    snakemake_ci
}

step_history() {
    # ci-bench ran the history rule (the report's trend needs it); make sure, then bisect.
    snakemake_ci history
    if ((${#SNAKEMAKE_DRY_RUN[@]})); then
        echo "CI_SNAKEMAKE_DRY_RUN=1: no history was built, so nothing to bisect"
        return 0
    fi
    cortexbench ci bisect-new --history results/history.parquet --config "$CI_CONFIG" \
        --time-limit "${BISECT_TIME_LIMIT:-2400}" --out "$STATE/bisect.md"
    summary <"$STATE/bisect.md"
    cat "$STATE/bisect.md"
}

step_report() {
    local base sections=()
    mkdir -p "$STATE"
    if base=$(ab_base); then
        local against="the merge base"
        [[ ${GITHUB_EVENT_NAME:-} == push ]] && against="the commit before the push"
        sections+=(--section "Same-job A/B against $against ${base:0:12}"
            "results/ab/$base/report.md")
        sections+=(--section "Against the stored baseline" results/report.md)
    else
        sections+=(--section "" results/report.md)
    fi
    local link=()
    [[ -n ${GITHUB_RUN_ID:-} ]] &&
        link=(--run-url "${GITHUB_SERVER_URL:-https://github.com}/${GITHUB_REPOSITORY:-}/actions/runs/$GITHUB_RUN_ID#artifacts")
    cortexbench ci comment "${sections[@]}" "${link[@]}" --out "$STATE/comment.md"
    if [[ ${GITHUB_EVENT_NAME:-} == pull_request ]]; then
        cortexbench ci pr-info --number "${PR_NUMBER:?}" --head-sha "${PR_HEAD_SHA:?}" \
            --out "$STATE/pr.json"
    fi
    summary <"$STATE/comment.md"
    echo "wrote $STATE/comment.md$([[ -f $STATE/pr.json ]] && echo " and $STATE/pr.json")"
    # The comment as GitHub shows it (cmark-gfm, headless Chromium), uploaded with the results;
    # without those tools one line says so. A screenshot never fails the job.
    cortexbench render "$STATE/comment.md" --out results/report.png --if-available ||
        echo "no screenshot of the comment: cortexbench render failed (above)"
}

step_check() {
    local base targets=(check) config=() verdicts=(results/check.txt) status=0
    if base=$(ab_base); then
        targets+=(ab)
        config=(--config "base=$base")
        verdicts+=("results/ab/$base/check.txt")
    fi
    # Both gates run, and the workflow's last words are their verdicts (exit 1 if one fails).
    snakemake_ci "${targets[@]}" "${config[@]}" || status=$?
    {
        echo
        echo "### Regression check: $([[ $status == 0 ]] && echo passed || echo FAILED)"
        echo
        echo '```'
        cat "${verdicts[@]}" 2>/dev/null || true
        echo '```'
    } | summary
    return "$status"
}

step_baselines() {
    local branch=${BASELINE_BRANCH:?set BASELINE_BRANCH to the branch that holds the baselines}
    local dir upstream="refs/remotes/origin/$branch"
    dir=$(baseline_setting directory)
    # The checkout fetched every branch (fetch-depth: 0): no credentials needed here.
    if ! git rev-parse --quiet --verify "$upstream^{commit}" >/dev/null; then
        echo "no branch $branch yet: comparing with no stored baseline"
        return 0
    fi
    rm -rf -- "$dir"
    mkdir -p -- "$dir"
    if [[ -n $(git ls-tree --name-only "$upstream" -- "$dir") ]]; then
        git archive "$upstream" -- "$dir" | tar -x
    fi
    echo "baselines from $branch ($(git rev-parse --short "$upstream")):"
    find "$dir" -name 'v*.parquet' | sort
}

# --- publish: one new baseline version, pushed with rebase-and-retry -------------------------

git_auth() {
    # The checkout keeps no credentials (persist-credentials: false); hand the token to git
    # through its environment, never through a command line or .git/config.
    [[ -n ${GITHUB_TOKEN:-} ]] || return 0
    local basic
    basic=$(printf 'x-access-token:%s' "$GITHUB_TOKEN" | base64 | tr -d '\n')
    [[ ${GITHUB_ACTIONS:-} == true ]] && echo "::add-mask::$basic"
    export GIT_CONFIG_COUNT=1
    export GIT_CONFIG_KEY_0="http.${GITHUB_SERVER_URL:-https://github.com}/.extraheader"
    export GIT_CONFIG_VALUE_0="AUTHORIZATION: basic $basic"
}

step_publish() {
    local target=${BASELINE_BRANCH:-${GITHUB_REF_NAME:-$(git symbolic-ref --short HEAD)}}
    local commit=${GITHUB_SHA:-$(git rev-parse HEAD)}
    local notes="CI: push to ${GITHUB_REF_NAME:-?} at ${commit:0:12}"
    [[ -n ${GITHUB_RUN_ID:-} ]] &&
        notes+=", ${GITHUB_SERVER_URL:-https://github.com}/${GITHUB_REPOSITORY:-}/actions/runs/$GITHUB_RUN_ID"
    local dir upstream="refs/remotes/origin/$target" runs=(results/runs/*.parquet)
    if ((${#SNAKEMAKE_DRY_RUN[@]})) && [[ ! -f ${runs[0]} ]]; then
        echo "CI_SNAKEMAKE_DRY_RUN=1: nothing was measured, so no version to store"
        return 0
    fi
    [[ -f ${runs[0]} ]] || { echo "no results/runs/*.parquet: nothing to store" >&2; return 1; }
    dir=$(baseline_setting directory)
    git_auth
    export GIT_AUTHOR_NAME="github-actions[bot]" GIT_COMMITTER_NAME="github-actions[bot]"
    export GIT_AUTHOR_EMAIL="41898282+github-actions[bot]@users.noreply.github.com"
    export GIT_COMMITTER_EMAIL=$GIT_AUTHOR_EMAIL

    # A worktree of the target branch: the new version is committed on top of its newest state.
    worktree=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/baseline-XXXXXX")/tree
    trap 'git worktree remove --force "$worktree" 2>/dev/null || true' EXIT
    fetch_target() { git fetch --quiet --no-tags origin "+refs/heads/$target:$upstream"; }
    local found=0
    git ls-remote --exit-code --heads origin "$target" >/dev/null || found=$?
    if [[ $found == 0 ]]; then
        fetch_target
        git worktree add --quiet --detach "$worktree" "$upstream"
    elif [[ $found != 2 ]]; then
        echo "cannot reach origin (git ls-remote exit status $found)" >&2
        return 1
    elif [[ -n ${BASELINE_BRANCH:-} ]]; then
        echo "creating branch $target for baseline data"
        git worktree add --quiet --detach "$worktree"
        git -C "$worktree" checkout --quiet --orphan "$target"
        git -C "$worktree" rm -r --quiet --force --ignore-unmatch .
    else
        echo "origin has no branch $target" >&2
        return 1
    fi

    add_version() { # the next version on top of what the worktree holds, as one commit
        local line
        line=$(cortexbench baseline update --runs "${runs[@]}" --config "$CI_CONFIG" \
            --directory "$worktree/$dir" --commit "$commit" --notes "$notes")
        echo "$line"
        git -C "$worktree" add -- "$dir"
        git -C "$worktree" commit --quiet -m "$line [skip ci]" -m "$notes"
    }
    add_version

    if [[ ${CI_DRY_RUN:-0} == 1 ]]; then
        echo "CI_DRY_RUN=1: not pushing; the commit that would go to $target:"
        git -C "$worktree" log -1 --stat
        return 0
    fi
    local attempt
    for ((attempt = 1; attempt <= PUSH_ATTEMPTS; attempt++)); do
        if git -C "$worktree" push --quiet origin "HEAD:refs/heads/$target"; then
            echo "pushed $(git -C "$worktree" rev-parse --short HEAD) to $target"
            return 0
        fi
        echo "push to $target rejected (attempt $attempt of $PUSH_ATTEMPTS); rebasing" >&2
        sleep $((PUSH_RETRY_DELAY * attempt * attempt + RANDOM % (PUSH_RETRY_DELAY + 1)))
        fetch_target
        if ! git -C "$worktree" rebase --quiet "$upstream"; then
            # Someone stored the same version number meanwhile: store ours as the next one.
            git -C "$worktree" rebase --abort
            git -C "$worktree" reset --quiet --hard "$upstream"
            add_version
        fi
    done
    echo "could not push to $target after $PUSH_ATTEMPTS attempts" >&2
    return 1
}

case ${1:-} in
ab | bench | history | report | check | baselines | publish) "step_$1" ;;
*)
    echo "usage: $0 ab|bench|history|report|check|baselines|publish" >&2
    exit 2
    ;;
esac
