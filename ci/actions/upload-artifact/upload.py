"""The upload-artifact stand-in's work (action.yml has the contract)."""

import datetime
import glob
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

FORBIDDEN = set('"<>|*?:\\/\r\n')


def fail(message: str) -> None:
    print(f"::error::{message}")
    sys.exit(1)


def files_to_upload(patterns: list[str], workspace: Path, hidden: bool) -> tuple[Path, list[Path]]:
    """The files the patterns match, and the folder their names in the artifact start from
    (as upload-artifact: the least common ancestor of what was matched)."""
    matched = []
    for pattern in patterns:
        matched += [Path(p) for p in glob.glob(str(workspace / pattern), recursive=True)]
    if not matched:
        return workspace, []
    root = Path(os.path.commonpath([p if p.is_dir() else p.parent for p in matched]))
    files = set()
    for path in matched:
        for file in path.rglob("*") if path.is_dir() else [path]:
            relative = file.relative_to(root)
            if file.is_file() and (hidden or not any(p.startswith(".") for p in relative.parts)):
                files.add(file)  # a symlink to a file uploads the file it points at
    return root, sorted(files)


def main() -> None:
    name = os.environ["INPUT_NAME"]
    if not name or FORBIDDEN & set(name):
        fail(f"artifact name {name!r} is not valid: it may not contain {sorted(FORBIDDEN)}")
    days = int(os.environ["INPUT_RETENTION_DAYS"] or 0) or 90
    if not 1 <= days <= 90:
        fail(f"retention-days {days}: give 1 to 90")
    level = int(os.environ["INPUT_COMPRESSION_LEVEL"])
    if not 0 <= level <= 9:
        fail(f"compression-level {level}: give 0 to 9")
    missing = os.environ["INPUT_IF_NO_FILES_FOUND"]
    if missing not in ("warn", "error", "ignore"):
        fail(f"if-no-files-found {missing!r}: give warn, error or ignore")

    workspace = Path(os.environ["GITHUB_WORKSPACE"])
    patterns = [p.strip() for p in os.environ["INPUT_PATH"].splitlines() if p.strip()]
    root, files = files_to_upload(
        patterns, workspace, os.environ["INPUT_INCLUDE_HIDDEN_FILES"] == "true"
    )
    if not files:
        message = f"No files were found with the provided path: {' '.join(patterns)}."
        if missing == "error":
            fail(message)
        print(
            f"::warning::{message} No artifacts will be uploaded." if missing == "warn" else message
        )
        return

    run = Path(os.environ["CI_ARTIFACT_STORE"]) / os.environ["GITHUB_RUN_ID"]
    target, meta = run / name, run / f"{name}.json"
    if meta.exists():
        if os.environ["INPUT_OVERWRITE"] != "true":
            fail(f"an artifact with the name {name!r} already exists on this run")
        shutil.rmtree(target)
    digest = hashlib.sha256()
    for file in files:
        relative = file.relative_to(root)
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file, target / relative)
        digest.update(str(relative).encode() + b"\0" + file.read_bytes())
    artifact_id = sum(1 for _ in run.glob("*.json")) + 1
    created = datetime.datetime.now(datetime.UTC)
    meta.write_text(
        json.dumps(
            {
                "id": artifact_id,
                "name": name,
                "size_in_bytes": sum(f.stat().st_size for f in files),
                "created_at": created.isoformat(timespec="seconds"),
                "expires_at": (created + datetime.timedelta(days=days)).isoformat(
                    timespec="seconds"
                ),
                "digest": digest.hexdigest(),
            }
        )
    )
    url = (
        f"{os.environ['GITHUB_SERVER_URL']}/{os.environ['GITHUB_REPOSITORY']}/actions/runs/"
        f"{os.environ['GITHUB_RUN_ID']}/artifacts/{artifact_id}"
    )
    print(f"{len(files)} files from {root} uploaded as {name} (kept {days} days): {url}")
    with open(os.environ["GITHUB_OUTPUT"], "a") as out:
        out.write(f"artifact-id={artifact_id}\nartifact-url={url}\n")
        out.write(f"artifact-digest={digest.hexdigest()}\n")


if __name__ == "__main__":
    main()
