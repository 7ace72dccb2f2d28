"""The schemas that ship with the package: well formed, and read alike by both validators."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from cortexbench import schemas

NAMES = ("config", "run-metadata", "baseline-footer", "legacy-baseline")


def nodes(node: Any):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from nodes(value)


@pytest.mark.parametrize("name", NAMES)
def test_each_schema_is_a_valid_json_schema(name):
    jsonschema.Draft202012Validator.check_schema(schemas.schema(name))


@pytest.mark.parametrize("name", sorted(schemas.COMPILED))
def test_compiled_schemas_avoid_what_the_two_validators_read_differently(name):
    for node in nodes(schemas.schema(name)):
        types = node.get("type", [])
        assert "integer" not in ([types] if isinstance(types, str) else types), node
        if "$ref" in node:
            assert set(node) <= {"$ref", "description", "title"}, node


@pytest.mark.parametrize(
    ("name", "instance"),
    [
        ("legacy-baseline", {"metrics": {"avg_duration": {"secs": 0, "nanos": 10**9}}}),
        ("run-metadata", {"workers": [{"custom_metrics": {"k": 10**30}}]}),
        ("run-metadata", {"workers": [{"index": "x"}]}),
        ("baseline-footer", {"summary": "rows"}),
    ],
)
def test_a_misfit_is_caught_and_explained(name, instance):
    assert schemas.first_error(name, instance) is not None
    assert schemas.problem(name, instance)
