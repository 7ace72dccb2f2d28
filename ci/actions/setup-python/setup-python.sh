#!/usr/bin/env bash
# The setup-python stand-in's work (action.yml has the contract).
set -euo pipefail
env=${CI_PYTHON_ENV:?CI_PYTHON_ENV: the rehearsal gives its prepared Python environment}
python="$env/bin/python"
version=$("$python" -c 'import platform; print(platform.python_version())')
if [[ -n $INPUT_PYTHON_VERSION && $version != "$INPUT_PYTHON_VERSION"* ]]; then
    echo "::warning::python-version $INPUT_PYTHON_VERSION asked for; the rehearsal offers $version"
fi

hit=false
if [[ -n $INPUT_CACHE ]]; then
    [[ $INPUT_CACHE == pip ]] || { echo "::error::cache '$INPUT_CACHE': the stand-in knows pip"; exit 1; }
    files=()
    for pattern in ${INPUT_CACHE_DEPENDENCY_PATH:-requirements.txt}; do
        for file in $GITHUB_WORKSPACE/$pattern; do [[ -f $file ]] && files+=("$file"); done
    done
    if ((${#files[@]} == 0)); then
        echo "::error::No file in $GITHUB_WORKSPACE matched to [$INPUT_CACHE_DEPENDENCY_PATH]," \
            "make sure you have checked out the target repository"
        exit 1
    fi
    # The cache is keyed on the dependency files: it is this environment only if they are the
    # ones it was installed from (the rehearsal passes their hash); then it counts as fresh.
    key=$(cat "${files[@]}" | sha256sum | cut -d' ' -f1)
    if [[ $key != "${CI_PIP_CACHE_KEY:-}" ]]; then
        echo "::error::the rehearsal's environment $env was installed from other dependency files;" \
            "run make ci-install and rehearse again"
        exit 1
    fi
    touch "$env/.installed" # the Makefile's stamp: `make ci-install` has nothing to do
    hit=true
    echo "pip cache: hit (key $key)"
fi
if [[ $INPUT_UPDATE_ENVIRONMENT == true ]]; then
    echo "$env/bin" >>"$GITHUB_PATH"
    {
        echo "pythonLocation=$env"
        echo "VENV=$env" # the Makefile's environment: `make ci-*` uses this one
    } >>"$GITHUB_ENV"
fi
echo "Python $version at $python"
{
    echo "python-version=$version"
    echo "python-path=$python"
    echo "cache-hit=$hit"
} >>"$GITHUB_OUTPUT"
