"""The download-artifact stand-in's work (action.yml has the contract)."""

import fnmatch
import os
import shutil
import sys
from pathlib import Path


def fail(message: str) -> None:
    print(f"::error::{message}")
    sys.exit(1)


def main() -> None:
    workspace = Path(os.environ["GITHUB_WORKSPACE"])
    destination = workspace / os.path.expanduser(os.environ["INPUT_PATH"] or ".")
    token = os.environ["INPUT_GITHUB_TOKEN"]
    if token and os.environ["INPUT_REPOSITORY"] != os.environ["GITHUB_REPOSITORY"]:
        fail("the rehearsal stores the artifacts of its own repository only")
    # Without a token, the real action reads the current run, whatever run-id says.
    run_id = os.environ["INPUT_RUN_ID"] if token else os.environ["GITHUB_RUN_ID"]
    run = Path(os.environ["CI_ARTIFACT_STORE"]) / run_id
    stored = sorted(p.stem for p in run.glob("*.json"))
    name = os.environ["INPUT_NAME"]
    if name:
        if name not in stored:
            fail(f"Unable to download artifact(s): Artifact not found for name: {name}")
        chosen, single = [name], True
    else:
        pattern = os.environ["INPUT_PATTERN"] or "*"
        chosen, single = [n for n in stored if fnmatch.fnmatchcase(n, pattern)], False
    merge = single or os.environ["INPUT_MERGE_MULTIPLE"] == "true"
    for artifact in chosen:
        target = destination if merge else destination / artifact
        # Files as they were stored: a symlink stays a symlink, for the reader to refuse.
        shutil.copytree(run / artifact, target, symlinks=True, dirs_exist_ok=True)
        print(f"artifact {artifact} of run {run_id} downloaded to {target}")
    if not chosen:
        print(f"no artifact of run {run_id} matches")
    with open(os.environ["GITHUB_OUTPUT"], "a") as out:
        out.write(f"download-path={destination}\n")


if __name__ == "__main__":
    main()
