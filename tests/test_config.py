"""Config validation: defaults, and one-line errors that name the key."""

import pytest
import yaml

from cortexbench.config import benchmark_settings, load_config, validate_config
from cortexbench.errors import UserError
from tests.conftest import ROOT


def test_shipped_config_is_valid_and_keeps_the_original_iteration_counts():
    config = load_config(ROOT / "config" / "config.yaml")
    counts = {name: b["iterations"] for name, b in config["benchmarks"].items()}
    assert counts == {"ttfs_encoding": 1000, "column_allocation": 500, "lateral_inhibition": 300}
    assert config["measurement"]["workers"] == 10


def test_defaults_are_filled():
    config = validate_config({"benchmarks": {"x": {"iterations": 3}}})
    assert config["measurement"]["threads"] == 1
    assert config["measurement"]["tune_allocator"] is True
    assert config["benchmarks"]["x"]["seed"] == 0


@pytest.mark.parametrize(
    "config, key",
    [
        ({"benchmarks": {"x": {"iterations": 3}}, "bogus": 1}, "bogus"),
        ({"benchmarks": {"x": {"iterations": 3, "iteratons": 4}}}, "benchmarks.x.iteratons"),
        ({"benchmarks": {"x": {"iterations": -1}}}, "benchmarks.x.iterations"),
        ({"benchmarks": {"x": {"iterations": "many"}}}, "benchmarks.x.iterations"),
        (
            {"benchmarks": {"x": {"iterations": 3}}, "measurement": {"workers": 0}},
            "measurement.workers",
        ),
        ({"benchmarks": {"x": {"iterations": 3, "threshold": 2}}}, "benchmarks.x.threshold"),
        (
            {"benchmarks": {"x": {"iterations": 3, "budget": {"max_error_rate": 5}}}},
            "benchmarks.x.budget.max_error_rate",
        ),
        ({"benchmarks": {}}, "benchmarks"),
    ],
)
def test_bad_config_names_the_key(config, key):
    with pytest.raises(UserError) as info:
        validate_config(config)
    message = str(info.value)
    assert key in message
    assert "\n" not in message


def test_unreadable_and_invalid_yaml(tmp_path):
    with pytest.raises(UserError, match="no such config file"):
        load_config(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("benchmarks: [unclosed")
    with pytest.raises(UserError, match="not valid YAML"):
        load_config(bad)


def test_settings_merge_measurement_and_benchmark():
    config = validate_config(
        {"measurement": {"workers": 4}, "benchmarks": {"x": {"iterations": 9, "workers": 3}}}
    )
    settings = benchmark_settings(config, "x")
    assert settings["workers"] == 3 and settings["iterations"] == 9
    with pytest.raises(UserError, match="unknown benchmark 'y'"):
        benchmark_settings(config, "y")


def test_schema_file_is_valid_yaml_with_descriptions():
    path = ROOT / "src" / "cortexbench" / "schemas" / "config.schema.yaml"
    schema = yaml.safe_load(path.read_text())
    assert schema["additionalProperties"] is False
