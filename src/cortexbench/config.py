"""Load and validate ``config/config.yaml`` against the config schema that ships with the
package (``cortexbench/schemas/config.schema.yaml``), the one source of every default.

Kept free of pandas and NumPy: the Snakefile imports it on every invocation.
"""

from __future__ import annotations

import copy
import json
import math
import os
from pathlib import Path
from typing import Any

import yaml

from cortexbench import schemas
from cortexbench.errors import UserError, first_line
from cortexbench.paths import CONFIG
from cortexbench.schemas import MESSAGE_LIMIT, YAML_LOADER


def schema() -> dict[str, Any]:
    return schemas.schema("config")


def load_config(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Read, validate and complete with defaults the YAML config at ``path`` (default
    config/config.yaml)."""
    path = Path(path if path is not None else CONFIG)
    try:
        raw = yaml.load(path.read_text(), Loader=YAML_LOADER)
    except FileNotFoundError:
        raise UserError(
            f"{path}: no such config file; run from the project folder or pass --config"
        )
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read config ({exc})")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise UserError(f"{path}: not valid YAML{where}; fix the syntax")
    except RecursionError:
        raise UserError(f"{path}: not valid YAML (nested too deeply)")
    except (ValueError, TypeError) as exc:  # e.g. a date that does not exist: 2024-13-45
        raise UserError(f"{path}: not valid YAML ({first_line(exc)}); quote the value")
    return validate_config(raw, source=str(path))


def validate_config(config: Any, *, source: str = "config") -> dict[str, Any]:
    """Validate ``config`` and return a copy completed with the schema's defaults."""
    problem = _not_plain_data(config)
    if problem:
        raise UserError(_one_line(f"{source}: {problem}"))
    error = schemas.first_error("config", config)
    if error is not None:
        raise UserError(_one_line(f"{source}: {_describe(error)}"))
    return complete_config(config)


def complete_config(config: Any) -> dict[str, Any]:
    """A copy of ``config`` with every section and key it leaves out set to the schema's
    default (for code handed a partial config; nothing is validated)."""
    completed = copy.deepcopy(dict(config))
    _fill_defaults(completed, schema(), schema())
    return completed


def default(section: str, key: str) -> Any:
    """The schema's default of ``<section>.<key>``: the one place defaults are written."""
    return copy.deepcopy(schema()["properties"][section]["properties"][key]["default"])


def default_suite() -> str:
    """The schema's default of ``suite``: this project's ``kernels``."""
    return schema()["properties"]["suite"]["default"]


def suite_package(settings: dict[str, Any]) -> str:
    """The import name of the suite a benchmark's settings (or a config) measure."""
    from cortexbench.measure.suite import package_name

    return package_name(settings.get("suite") or default_suite())


def optional_config(path: str | os.PathLike[str] | None) -> dict[str, Any]:
    """The config at ``path``, else ``config/config.yaml`` if there is one, else the schema's
    defaults alone (commands that only read results need no config)."""
    if path is not None:
        return load_config(path)
    if CONFIG.exists():
        return load_config(CONFIG)
    return complete_config({"benchmarks": {}})


def _not_plain_data(config: Any) -> str | None:
    """Why ``config`` is not plain JSON data (text keys; text, finite numbers, booleans, null,
    lists, mappings), naming the key; None if it is. YAML can also make dates, sets and bytes,
    which no setting takes and which JSON (the settings files) cannot hold."""
    stack: list[tuple[str, Any, int]] = [("", config, 0)]
    while stack:
        path, value, depth = stack.pop()
        where = f"'{path or 'top level'}'"
        if depth > 50:
            return f"{where}: nested more than 50 levels deep"
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    return f"{where}: key {key!r} must be text; quote it"
                stack.append((f"{path}.{key}" if path else key, item, depth + 1))
        elif isinstance(value, list):
            stack.extend(
                (f"{path}.{i}" if path else str(i), v, depth + 1) for i, v in enumerate(value)
            )
        elif isinstance(value, float) and not math.isfinite(value):
            return f"{where}: {value} is not a finite number"
        elif value is not None and not isinstance(value, str | int | float | bool):
            return f"{where}: {type(value).__name__} values are not allowed; quote it as text"
    return None


def _one_line(message: str) -> str:
    """A message that quotes keys and values from the file, made one short line."""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in message[: 2 * MESSAGE_LIMIT])
    return shown if len(shown) <= 2 * MESSAGE_LIMIT else shown[: 2 * MESSAGE_LIMIT - 1] + "…"


def _describe(error: Any) -> str:
    path = ".".join(str(part) for part in error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        key = ".".join(filter(None, [path, extra[0] if extra else "?"]))
        hint = f"; allowed keys: {', '.join(allowed)}" if allowed else ""
        return f"unknown key '{key}'{hint}"
    if error.validator == "required":
        return f"{error.message} (at '{path or 'top level'}')"
    if error.validator == "pattern" and error.validator_value and path == "benchmarks":
        return f"benchmark name {error.instance!r} must be lower_snake_case"
    message = error.message.splitlines()[0]
    if len(message) > MESSAGE_LIMIT:  # the message quotes the value, which may be huge
        message = message[: MESSAGE_LIMIT - 1] + "…"
    return f"'{path or 'top level'}': {message}"


def _fill_defaults(node: Any, node_schema: dict[str, Any], root: dict[str, Any]) -> None:
    if "$ref" in node_schema:
        ref = node_schema["$ref"].removeprefix("#/$defs/")
        node_schema = {
            **root["$defs"][ref],
            **{k: v for k, v in node_schema.items() if k != "$ref"},
        }
    if not isinstance(node, dict):
        return
    for key, sub in node_schema.get("properties", {}).items():
        if key not in node and "default" in sub:
            node[key] = copy.deepcopy(sub["default"])
        if key in node:
            _fill_defaults(node[key], sub, root)
    extra = node_schema.get("additionalProperties")
    if isinstance(extra, dict):
        for key, value in node.items():
            if key not in node_schema.get("properties", {}):
                _fill_defaults(value, extra, root)


DEFAULT_CASE = "default"
CASE_SEPARATOR = "@"


def run_key(benchmark: str, case: str | None = DEFAULT_CASE) -> str:
    """The name of one run job: ``<benchmark>`` for the default case, else ``<benchmark>@<case>``.

    It names the run file (``results/runs/<key>.parquet``) and the benchmark's row in the
    comparison and the report.
    """
    return benchmark if case in (None, "", DEFAULT_CASE) else f"{benchmark}{CASE_SEPARATOR}{case}"


def split_run_key(key: str) -> tuple[str, str]:
    """``(benchmark, case)`` of a run key (the inverse of :func:`run_key`)."""
    benchmark, _, case = key.partition(CASE_SEPARATOR)
    return benchmark, case or DEFAULT_CASE


def benchmark_cases(config: dict[str, Any], name: str) -> list[str]:
    """The case names of benchmark ``name``: its ``cases`` matrix, else just ``default``."""
    return sorted(config["benchmarks"][name].get("cases") or {DEFAULT_CASE: {}})


def run_keys(config: dict[str, Any]) -> list[str]:
    """Every run job of the config (one per benchmark and case), sorted."""
    return sorted(
        run_key(name, case)
        for name in config["benchmarks"]
        for case in benchmark_cases(config, name)
    )


def benchmark_settings(
    config: dict[str, Any], name: str, case: str | None = None
) -> dict[str, Any]:
    """Everything that determines one benchmark's measurement, merged into one flat mapping.

    A change to this mapping is what makes Snakemake rerun that benchmark (and only it).
    ``name`` may be a run key (``<benchmark>@<case>``); ``case`` defaults to the default case.
    """
    if case is None:
        name, case = split_run_key(name)
    if name not in config["benchmarks"]:
        known = ", ".join(sorted(config["benchmarks"]))
        raise UserError(f"unknown benchmark '{name}'; configured benchmarks: {known}")
    bench = config["benchmarks"][name]
    cases = bench.get("cases")
    if case not in (cases or {DEFAULT_CASE: {}}):
        known = ", ".join(benchmark_cases(config, name))
        raise UserError(
            f"unknown case '{case}' of benchmark '{name}'; its cases: {known} "
            f"(benchmarks.{name}.cases in the config)"
        )
    measurement = config.get("measurement", {})
    overrides = {**bench.get("case", {}), **((cases or {}).get(case) or {})}
    return {
        "benchmark": name,
        "iterations": bench["iterations"],
        "seed": bench.get("seed", 0),
        "case": overrides,
        **({"case_name": case} if case != DEFAULT_CASE else {}),
        **({"testbed": config["testbed"]} if config.get("testbed") else {}),
        # only another suite than the default: the default's settings (and reruns) stay as before
        **(
            {"suite": config["suite"]}
            if config.get("suite", default_suite()) != default_suite()
            else {}
        ),
        **{key: value for key, value in measurement.items()},
        **({"workers": bench["workers"]} if "workers" in bench else {}),
    }


def settings_json(settings: dict[str, Any]) -> str:
    """Canonical JSON of a settings mapping (stable across runs, so params compare equal)."""
    return json.dumps(settings, sort_keys=True, separators=(",", ":"))
