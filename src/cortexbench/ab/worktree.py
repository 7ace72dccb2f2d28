"""Check a git ref out into a cached worktree, so its kernels can be measured beside ours."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from pathlib import Path

from cortexbench.errors import UserError

CACHE_DIR = Path(".cortexbench") / "worktrees"


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    try:
        done = subprocess.run(
            ["git", *args], cwd=repo, capture_output=True, text=True, timeout=120, check=False
        )
    except FileNotFoundError:
        raise UserError("git is not installed; A/B needs git")
    if check and done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise UserError(f"git {' '.join(args)} failed in {repo}: {detail}")
    return done


def repo_root(path: Path) -> Path:
    done = git(path, "rev-parse", "--show-toplevel", check=False)
    if done.returncode != 0:
        raise UserError(f"{path} is not inside a git repository; A/B compares git commits")
    return Path(done.stdout.strip())


def resolve_commit(repo: Path, ref: str) -> str:
    """The full commit id of ``ref``; a clear error when it does not exist."""
    if not ref or ref.startswith("-"):
        raise UserError(f"invalid git ref {ref!r}; give a branch, tag or commit, e.g. base=main")
    done = git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    if done.returncode != 0:
        raise UserError(
            f"git ref '{ref}' does not exist here; fetch it first (git fetch origin {ref}) "
            "or name a branch, tag or commit that does"
        )
    return done.stdout.strip()


def dirty_files(repo: Path, under: str = "kernels") -> list[str]:
    """Uncommitted changes below ``under`` (what an A/B of the working tree measures)."""
    done = git(repo, "status", "--porcelain", "--untracked-files=all", "--", under)
    return [line[3:] for line in done.stdout.splitlines() if line.strip()]


def checkout(repo: Path, commit: str, cache_dir: Path | None = None) -> Path:
    """A detached worktree of ``commit`` under the cache, reused when it is intact."""
    cache = repo / (cache_dir or CACHE_DIR)
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / commit
    with open(cache / ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.exists():
            if _is_intact(target, commit):
                return target
            _remove(repo, target)
        git(repo, "worktree", "prune")
        git(repo, "worktree", "add", "--detach", "--force", str(target), commit)
    return target


def clean(repo: Path, cache_dir: Path | None = None) -> list[Path]:
    """Remove every cached worktree (only ones inside the cache); returns what was removed."""
    cache = repo / (cache_dir or CACHE_DIR)
    removed = []
    if cache.is_dir():
        for entry in sorted(cache.iterdir()):
            if entry.is_dir():
                _remove(repo, entry)
                removed.append(entry)
    git(repo, "worktree", "prune")
    return removed


def _is_intact(target: Path, commit: str) -> bool:
    head = git(target, "rev-parse", "HEAD", check=False)
    if head.returncode != 0 or head.stdout.strip() != commit:
        return False
    status = git(target, "status", "--porcelain", "--untracked-files=no", check=False)
    return status.returncode == 0 and not status.stdout.strip()


def _remove(repo: Path, target: Path) -> None:
    git(repo, "worktree", "remove", "--force", str(target), check=False)
    if target.exists():
        shutil.rmtree(target)
