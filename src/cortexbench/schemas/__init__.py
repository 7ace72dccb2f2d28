"""The JSON Schemas that ship with the package, and one-line messages for what breaks them.

``config``: the workflow's configuration. ``run-metadata``, ``baseline-footer`` and
``legacy-baseline``: what a run file's and a baseline version's footers must hold, and the
original JSON baseline format. Each is YAML next to this module; none is read from a checkout.
"""

from __future__ import annotations

import math
from functools import cache
from importlib import resources
from typing import Any

import yaml

# libyaml's parser where PyYAML was built with it: a 1,000-case config parses ~10x faster.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MESSAGE_LIMIT = 200
# Integers beyond this cannot have been measured (and fit neither int64 nor a float exactly).
MAX_INT = 2**63 - 1


@cache
def schema(name: str) -> dict[str, Any]:
    text = resources.files(__name__).joinpath(f"{name}.schema.yaml").read_text(encoding="utf-8")
    return yaml.load(text, Loader=YAML_LOADER)


@cache
def validator(name: str) -> Any:
    """A validator of schema ``name`` that takes only true integers as ``integer`` (JSON Schema
    counts 3.0 as one; a count written 3.0 breaks range(3.0))."""
    import jsonschema

    checker = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool)
    )
    strict = jsonschema.validators.extend(jsonschema.Draft202012Validator, type_checker=checker)
    return strict(schema(name))


@cache
def _compiled(name: str) -> Any:
    import fastjsonschema

    return fastjsonschema.compile(schema(name))


# Checked on every run file and baseline version read (a thousand at a time): a compiled
# validator says whether they fit in microseconds, and only a misfit is explained by the full
# one. The two read "integer" differently (3.0), and the compiled one (draft 7) ignores what
# stands beside a "$ref": these schemas use neither (tests/test_schemas.py checks).
COMPILED = frozenset({"run-metadata", "baseline-footer", "legacy-baseline"})


def first_error(name: str, instance: Any) -> Any:
    """The most relevant error of ``instance`` against schema ``name``, or None."""
    import fastjsonschema
    import jsonschema

    if name in COMPILED:
        try:
            _compiled(name)(instance)
            return None
        except fastjsonschema.JsonSchemaException:
            pass
    return jsonschema.exceptions.best_match(validator(name).iter_errors(instance))


def problem(
    name: str,
    instance: Any,
    *,
    whole: str = "the top level",
    bounded: bool = True,
    finite: bool = True,
) -> str | None:
    """What is wrong with ``instance`` (plain JSON data) by schema ``name``, or None.

    The message names the field: ``metrics.error_rate must be <= 1, got 2`` (``whole``: how
    it names the instance itself). ``bounded``: an integer beyond int64 cannot have been
    measured, whatever the schema says ("too large"). ``finite``: NaN and infinities, which
    every numeric rule lets through, are refused too.
    """
    is_int = lambda v: isinstance(v, int) and not isinstance(v, bool)  # noqa: E731
    huge = _unusual(instance, is_int) if bounded else None
    if huge is not None:
        return f"{_field(huge, whole)} is too large (beyond {MAX_INT})"
    error = first_error(name, instance)
    if error is not None:
        where = [str(part) for part in error.absolute_path]
        if error.validator == "required":
            missing = next(key for key in error.validator_value if key not in error.instance)
            return f"{_field([*where, missing], whole)} is missing"
        return f"{_field(where, whole)} {_expected(error)}"
    odd = _unusual(instance, lambda v: isinstance(v, float)) if finite else None
    if odd is not None:
        return f"{_field(odd, whole)} must be finite, got {_value_at(instance, odd)}"
    return None


def _unusual(instance: Any, applies: Any) -> list[str] | None:
    """The path of the first number that ``applies`` and is NaN, infinite or beyond int64."""
    stack: list[tuple[list[str], Any]] = [([], instance)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, dict):
            stack.extend(([*where, str(k)], v) for k, v in reversed(list(value.items())))
        elif isinstance(value, list):
            stack.extend(([*where, str(i)], v) for i, v in reversed(list(enumerate(value))))
        elif applies(value):
            if isinstance(value, float) and not math.isfinite(value):
                return where
            if isinstance(value, int) and abs(value) > MAX_INT:
                return where
    return None


def _value_at(instance: Any, where: list[str]) -> Any:
    for part in where:
        instance = instance[int(part)] if isinstance(instance, list) else instance[part]
    return instance


def kind(value: Any) -> str:
    """How a message names the JSON type of ``value``: an object, a list, text, a number."""
    names = {dict: "an object", list: "a list", str: "text", bool: "a boolean", type(None): "null"}
    if type(value) in names:
        return names[type(value)]
    return "a number" if isinstance(value, int | float) else type(value).__name__


BOUNDS = {
    "minimum": ">=",
    "exclusiveMinimum": "above",
    "maximum": "<=",
    "exclusiveMaximum": "below",
}
TYPE_NOUNS = {
    "object": "an object",
    "array": "a list",
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "null": "null",
}


def _field(where: list[str], whole: str) -> str:
    return ".".join(where) or whole


def _number(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _expected(error: Any) -> str:
    """``must be a number, got text``: the expectation broken, and what was found."""
    value = error.instance
    rule, limit = error.validator, error.validator_value
    noun = error.schema.get("title")
    if rule == "type":
        types = [limit] if isinstance(limit, str) else list(limit)
        wanted = noun or " or ".join(TYPE_NOUNS.get(t, t) for t in types)
        shown = (
            f" {value!r}" if isinstance(value, int | float) and not isinstance(value, bool) else ""
        )
        return f"must be {wanted}, got {kind(value)}{shown}"
    if rule in BOUNDS and isinstance(value, float) and not math.isfinite(value):
        return f"must be finite, got {value}"
    if rule in BOUNDS:
        return f"must be {BOUNDS[rule]} {_number(limit)}, got {value}"
    if rule == "multipleOf":
        return f"must be {noun or 'a multiple of ' + _number(limit)}, got {value}"
    if rule == "pattern":
        return f"must be {noun or 'text matching ' + limit}, got {_short(value)}"
    if rule == "additionalProperties":
        extra = sorted(set(value) - set(error.schema.get("properties", {})))
        return f"has an unknown key {extra[0]!r}" if extra else "has an unknown key"
    if rule in ("enum", "const"):
        allowed = limit if rule == "enum" else [limit]
        return f"must be one of {', '.join(map(repr, allowed))}, got {_short(value)}"
    if rule in ("minItems", "minProperties"):
        return "must not be empty"
    message = error.message.splitlines()[0]
    return f"is not valid ({_short(message)})"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"
