#!/usr/bin/env bash
# The checkout stand-in's work (action.yml has the contract). As actions/checkout does: a fresh
# repository in the target folder, `origin` pointing at the server, the event's commit fetched
# to the asked depth (0: every branch and tag), checked out detached, or as its branch.
set -euo pipefail
server=${CI_GIT_SERVER:?CI_GIT_SERVER: the rehearsal gives its folder of bare repositories}
url="file://$server/$INPUT_REPOSITORY.git"
target="$GITHUB_WORKSPACE/$INPUT_PATH"
[[ $INPUT_FETCH_DEPTH =~ ^[0-9]+$ ]] || {
    echo "::error::fetch-depth must be a whole number, not '$INPUT_FETCH_DEPTH'"
    exit 1
}
[[ -d $server/$INPUT_REPOSITORY.git ]] || {
    echo "::error::repository $INPUT_REPOSITORY not found on the rehearsal's git server"
    exit 1
}

mkdir -p "$target"
if [[ $INPUT_CLEAN == true ]]; then
    find "$target" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
fi
cd "$target"
git init --quiet
git remote add origin "$url"

ref=${INPUT_REF:-$GITHUB_REF}
commit=$([[ -z $INPUT_REF ]] && echo "$GITHUB_SHA" || true)
depth=()
((INPUT_FETCH_DEPTH > 0)) && depth=(--depth "$INPUT_FETCH_DEPTH")
refspecs=()
if ((INPUT_FETCH_DEPTH == 0)); then
    refspecs+=('+refs/heads/*:refs/remotes/origin/*' '+refs/tags/*:refs/tags/*')
elif [[ $INPUT_FETCH_TAGS == true ]]; then
    refspecs+=('+refs/tags/*:refs/tags/*')
fi
case $ref in
refs/heads/*) refspecs+=("+$ref:refs/remotes/origin/${ref#refs/heads/}") ;;
refs/pull/*) refspecs+=("+$ref:refs/remotes/pull/${ref#refs/pull/}") ;;
refs/tags/*) refspecs+=("+$ref:$ref") ;;
esac
git fetch --quiet --no-tags --prune "${depth[@]}" origin "${refspecs[@]}"
[[ -n $commit ]] || commit=$(git rev-parse --verify "${ref#refs/heads/}^{commit}" 2>/dev/null ||
    git rev-parse --verify "origin/${ref#refs/heads/}^{commit}")
git cat-file -e "$commit^{commit}" 2>/dev/null || git fetch --quiet --no-tags "${depth[@]}" origin "$commit"

if [[ $ref == refs/heads/* ]]; then
    git checkout --quiet --force -B "${ref#refs/heads/}" "$commit"
    git branch --quiet --set-upstream-to "origin/${ref#refs/heads/}"
else
    git checkout --quiet --force --detach "$commit"
fi
if [[ $INPUT_PERSIST_CREDENTIALS == true && -n $INPUT_TOKEN ]]; then
    basic=$(printf 'x-access-token:%s' "$INPUT_TOKEN" | base64 | tr -d '\n')
    echo "::add-mask::$basic"
    git config --local "http.${GITHUB_SERVER_URL:-https://github.com}/.extraheader" "AUTHORIZATION: basic $basic"
fi
echo "checked out $INPUT_REPOSITORY $ref at $commit ($(git rev-list --count HEAD) commits of history)"
{
    echo "ref=$ref"
    echo "commit=$commit"
} >>"$GITHUB_OUTPUT"
