"""values.yaml is documented key by key, and values.schema.json is strict and complete:
the defaults validate, every object refuses unknown keys, and helm itself refuses
unknown keys and wrong types."""
from __future__ import annotations

import re
from typing import Any, Iterator

import jsonschema
import pytest
import yaml

from tests.chart.chart import CHART, CI_VALUES, DEV, helm, render_error, schema, values_yaml


def leaf_paths(value: Any, prefix: str = "") -> Iterator[str]:
    """Dotted paths of the documented keys: maps are walked, except free-form ones."""
    if isinstance(value, dict) and value and prefix not in FREE_FORM:
        for key, child in value.items():
            yield from leaf_paths(child, f"{prefix}.{key}" if prefix else key)
    else:
        yield prefix


# Maps whose keys are data, not settings: documented as a whole.
FREE_FORM = {"jobs", "resources", "cronJobs.resources", "migrations.resources", "mysql.resources",
             "redis.resources"}


def schema_objects(node: Any, path: str = "#") -> Iterator[tuple[str, dict]]:
    if isinstance(node, dict):
        if node.get("type") == "object":
            yield path, node
        for key, child in node.items():
            yield from schema_objects(child, f"{path}/{key}")
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from schema_objects(child, f"{path}/{i}")


def test_defaults_and_ci_values_validate_against_the_schema():
    validator = jsonschema.Draft7Validator(schema())
    jsonschema.Draft7Validator.check_schema(schema())
    assert not list(validator.iter_errors(values_yaml()))
    for file in sorted(CI_VALUES.glob("*.yaml")):
        merged = merge(values_yaml(), yaml.safe_load(file.read_text()))
        errors = [e.message for e in validator.iter_errors(merged)]
        assert not errors, (file.name, errors)


def merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        out[key] = merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return out


def test_every_object_in_the_schema_is_closed():
    """additionalProperties is false, or a typed schema for maps (labels, jobs...); never open."""
    open_objects = [path for path, node in schema_objects(schema())
                    if node.get("additionalProperties", True) is True]
    assert not open_objects, open_objects


def test_schema_and_values_name_the_same_keys():
    def schema_paths(node: dict, prefix: str = "") -> Iterator[str]:
        props = node.get("properties")
        if not props:
            yield prefix
            return
        for key, child in props.items():
            path = f"{prefix}.{key}" if prefix else key
            if "$ref" in child or path in FREE_FORM or "properties" not in child:
                yield path
            else:
                yield from schema_paths(child, path)

    in_schema = set(schema_paths(schema()))
    in_values = set(leaf_paths(values_yaml()))
    # Leaves of values.yaml may be deeper than a $ref'd schema node (e.g. image.* of mysql).
    covered = {v for v in in_values if any(v == s or v.startswith(s + ".") for s in in_schema)}
    assert in_values == covered, sorted(in_values - covered)
    missing = {s for s in in_schema if not any(v == s or v.startswith(s + ".") for v in in_values)}
    assert not missing, f"in the schema but not in values.yaml: {sorted(missing)}"


def test_every_value_is_documented_with_a_param_comment():
    text = (CHART / "values.yaml").read_text()
    documented = set(re.findall(r"^\s*## @param (\S+)", text, flags=re.M))
    keys = set(leaf_paths(values_yaml()))
    assert keys <= documented, f"undocumented: {sorted(keys - documented)}"
    assert documented <= keys, f"@param for keys that do not exist: {sorted(documented - keys)}"


@pytest.mark.parametrize("values", [
    {"bogus": 1},
    {"gunicorn": {"bogus": 1}},
    {"ingress": {"tls": [{"secretName": "x", "hosts": ["a"], "bogus": 1}]}},
    {"jobs": {"check-monitors": {"schedule": "* * * * *", "description": "", "activeDeadlineSeconds": 5,
                                 "startingDeadlineSeconds": 10, "backoffLimit": 0, "bogus": 1}}},
    {"mysql": {"auth": {"bogus": 1}}},
    {"affinity": {"podAntiAffinity": {"bogus": 1}}},
], ids=["top", "gunicorn", "ingress.tls", "jobs", "mysql.auth", "affinity"])
def test_helm_refuses_unknown_keys(values):
    message = render_error(DEV, values)
    assert "additional properties 'bogus' not allowed" in message, message


@pytest.mark.parametrize("values, where", [
    ({"replicaCount": "three"}, "/replicaCount"),
    ({"leaderElection": {"enabled": "yes"}}, "/leaderElection/enabled"),
    ({"config": {"env": "staging"}}, "/config/env"),
    ({"secretKey": "too-short"}, "/secretKey"),
    ({"image": {"pullPolicy": "Sometimes"}}, "/image/pullPolicy"),
    ({"resources": {"limits": {"memory": "lots"}}}, "/resources/limits/memory"),
    ({"externalRedis": {"cacheUrl": "http://not-redis"}}, "/externalRedis/cacheUrl"),
])
def test_helm_refuses_wrong_types_and_values(values, where):
    message = render_error(DEV, values)
    assert "values don't meet the specifications of the schema" in message and where in message, message


def test_lint_refuses_an_unknown_key():
    result = helm("lint", "--strict", str(CHART), "--set", "gunicorn.bogus=1", check=False)
    assert result.returncode != 0
    assert "additional properties 'bogus' not allowed" in result.stdout + result.stderr
