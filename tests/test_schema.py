"""rnalm.schema: strict, JSON-shaped validation of config dataclasses."""

import datetime
from dataclasses import dataclass, field

import pytest
from pydantic import with_config

from rnalm.errors import CheckpointError, ConfigError
from rnalm.schema import STRICT, coerce_yaml_floats, validate_fields


@dataclass
class Inner:
    rate: float = 0.1
    steps: int = 1


@with_config(STRICT)
@dataclass
class Outer:
    name: str = "x"
    inner: Inner = field(default_factory=Inner)


@dataclass
class Lenient:
    steps: int = 1


def test_nested_sections_inherit_strictness_and_errors_use_the_given_class():
    with pytest.raises(CheckpointError, match=r"^f\.json: inner\.steps=2\.0 must be an integer$"):
        validate_fields(Outer, {"inner": {"steps": 2.0}}, "f.json", error=CheckpointError)
    rate = validate_fields(Outer, {"inner": {"rate": 1}}, "f").inner.rate  # an int is a valid float
    assert rate == 1.0 and isinstance(rate, float)


def test_yaml_float_strings_only_in_float_fields():
    data = coerce_yaml_floats(Outer, {"name": "1e-4", "inner": {"rate": "1e-4", "steps": "3"}})
    assert data == {"name": "1e-4", "inner": {"rate": 1e-4, "steps": "3"}}
    with pytest.raises(ConfigError, match=r"inner\.steps='3' must be an integer"):
        validate_fields(Outer, data, "f")


def test_non_json_yaml_values_and_unmarked_classes_are_refused():
    with pytest.raises(ConfigError, match="name holds|not plain JSON/YAML data"):
        validate_fields(Outer, {"name": datetime.date(2026, 1, 1)}, "f.yaml")
    with pytest.raises(TypeError, match="not marked"):
        validate_fields(Lenient, {"steps": 1}, "f")
