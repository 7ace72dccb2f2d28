"""``cortexbench init-ci [DEST]``: this project's two GitHub workflows, for a project that
deployed the workflow as a module (README, "Use it in your project").

They are this repository's own ``.github/workflows/benchmarks.yml`` and
``benchmark-comment.yml`` (shipped in the package, ``ci_files/``, with the Makefile and
``ci/ci.sh``), adapted: each ``run: make ci-<target>`` step becomes what that Makefile target
does, there: installing cortexbench from the deployed repository and tag into ``.venv``, the
target's own commands, or the same step of ``ci/ci.sh``, written beside the workflows as
``.github/cortexbench/ci.sh``.
"""

from __future__ import annotations

import argparse
import re
from importlib import resources
from pathlib import Path

from cortexbench import __version__
from cortexbench.atomic import write_text
from cortexbench.errors import UserError

WORKFLOWS = ("benchmarks.yml", "benchmark-comment.yml")
STEP_SCRIPT = Path(".github") / "cortexbench" / "ci.sh"
# history's change points (the Makefile installs the same, without its unwanted dependencies)
OTAVA = "apache-otava==0.8.0"
MODULE_SOURCE = re.compile(
    r"""github\(\s*["'](?P<repo>[\w.-]+/[\w.-]+)["'][^)]*?\b(?:tag|branch|commit)\s*=\s*["']"""
    r"""(?P<ref>[^"']+)["']"""
)
REPO = re.compile(r"[\w.-]+/[\w.-]+")
REF = re.compile(r"[\w.][\w./-]*")
MAKE_STEP = re.compile(r"^(?P<indent>\s*)run: make (?P<target>ci-[\w-]+)\s*$")
CI_SCRIPT_STEP = re.compile(r"^\$\(CI_ENV\) ci/ci\.sh (?P<step>\w+)$")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "init-ci",
        help="write the GitHub workflows (benchmarks, comment) into a project that deployed this",
    )
    parser.add_argument(
        "dest", nargs="?", type=Path, default=Path(), help="the project folder (default: here)"
    )
    parser.add_argument(
        "--repo",
        help="the cortexbench repository, OWNER/NAME (default: the github(...) module of "
        "DEST/workflow/Snakefile)",
    )
    parser.add_argument("--tag", help="its tag (or branch, commit) (default: the module's)")
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    dest: Path = args.dest
    if not dest.is_dir():
        raise UserError(f"{dest}: no such folder; give the project folder to write into")
    repo, ref = source_of(dest, args.repo, args.tag)
    files = {dest / ".github" / "workflows" / name: adapt(name, repo, ref) for name in WORKFLOWS}
    files[dest / STEP_SCRIPT] = packaged("ci.sh")
    existing = [str(path) for path in files if path.exists()]
    if existing and not args.force:
        raise UserError(
            f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}; "
            "nothing was written (--force overwrites)"
        )
    for path, text in files.items():
        write_text(path, text)
        print(f"wrote {path}")
    (dest / STEP_SCRIPT).chmod(0o755)
    return 0


def source_of(dest: Path, repo: str | None, ref: str | None) -> tuple[str, str]:
    """The cortexbench repository and ref to install in CI: given, else the deployed module's.
    Both go into a YAML file and a shell line, so they may hold only what names them."""
    if repo and not REPO.fullmatch(repo):
        raise UserError(f"--repo {repo!r}: give the GitHub repository as OWNER/NAME")
    if ref and not REF.fullmatch(ref):
        raise UserError(f"--tag {ref!r}: give a tag, branch or commit (letters, digits, ._/-)")
    if repo and ref:
        return repo, ref
    snakefile = dest / "workflow" / "Snakefile"
    found = MODULE_SOURCE.search(snakefile.read_text()) if snakefile.is_file() else None
    if found is None:
        raise UserError(
            f"{snakefile} names no github(...) module to read the cortexbench repository and tag "
            "from; pass --repo OWNER/NAME --tag TAG"
        )
    return source_of(dest, repo or found["repo"], ref or found["ref"])


def packaged(name: str) -> str:
    return resources.files("cortexbench").joinpath("ci_files", name).read_text(encoding="utf-8")


def adapt(name: str, repo: str, ref: str) -> str:
    """The packaged workflow ``name``, made to run in a project that deployed ``repo``@``ref``."""
    lines = packaged(name).splitlines()
    body = lines[next(i for i, line in enumerate(lines) if line.startswith("name:")) :]
    header = [
        f"# Written by `cortexbench init-ci` (cortexbench {__version__}) for the workflow "
        f"deployed from {repo}@{ref}:",
        f"# adapted from its .github/workflows/{name} (its docs/ci.md says what each step does).",
        "# Rerun `cortexbench init-ci --force` after upgrading.",
    ]
    recipes = make_recipes(packaged("Makefile"))
    out = []
    for line in body:
        step = MAKE_STEP.match(line)
        if line.strip() == "cache-dependency-path: pyproject.toml":
            out.append(line.replace("pyproject.toml", "workflow/Snakefile # the deployed tag"))
        elif step:
            commands = step_commands(step["target"], recipes.get(step["target"]), repo, ref)
            indent = step["indent"]
            if len(commands) == 1:
                out.append(f"{indent}run: {commands[0]}")
            else:
                out += [f"{indent}run: |", *(f"{indent}  {command}" for command in commands)]
        elif re.search(r"\bmake\b", line) and not line.lstrip().startswith("#"):
            raise UserError(f"{name}: a step this command cannot adapt: {line.strip()}")
        else:
            out.append(line)
    return "\n".join([*header, *out]) + "\n"


def step_commands(target: str, recipe: list[str] | None, repo: str, ref: str) -> list[str]:
    """The shell lines of a deployed project's step for ``make <target>``."""
    if target == "ci-install":  # the Makefile's: an editable install of this checkout
        return [
            "python -m venv .venv",
            f'.venv/bin/pip install --quiet "cortexbench @ git+https://github.com/{repo}@{ref}"',
            f".venv/bin/pip install --quiet --no-deps '{OTAVA}'",
        ]
    if not recipe:
        raise UserError(f"benchmarks.yml runs make {target}, which the Makefile does not define")
    script = CI_SCRIPT_STEP.match(recipe[0]) if len(recipe) == 1 else None
    if script:
        return [f"bash {STEP_SCRIPT} {script['step']}"]
    if any("$(" in line for line in recipe):
        raise UserError(f"make {target}: its recipe needs this checkout: {recipe[0]}")
    return [line.replace("$$", "$") for line in recipe]


def make_recipes(makefile: str) -> dict[str, list[str]]:
    """Each ``ci-*`` target's recipe: its lines, continuations kept, ``@`` dropped."""
    recipes: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in makefile.splitlines():
        target = re.match(r"^(ci-[\w-]+):", line)
        if target:
            current = recipes.setdefault(target[1], [])
        elif current is not None and line.startswith("\t"):
            text = line.strip()
            continued = bool(current) and current[-1].endswith("\\")
            current.append(("  " if continued else "") + (text if continued else text.lstrip("@")))
        else:
            current = None
    return recipes
