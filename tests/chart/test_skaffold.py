"""skaffold.yaml is valid skaffold config, as is, and with each profile applied; it points at
things that exist, and every chart value it sets is one the chart's values.schema.json has.

No skaffold binary can be had here, so validity is checked against skaffold's published JSON
Schema (draft-07, closed objects) for the config's apiVersion. The schema lives outside the
repo: SKAFFOLD_SCHEMA, else <repo>/../shared/schemas/skaffold/<version>.json (see that
folder's README). A missing schema skips on a laptop and fails with CI=true.

Profiles are applied the way skaffold applies them (pkg/skaffold/schema/profiles.go): first
the profile's own fields are laid over the config (the sections build, deploy, manifests and
resourceSelector are merged key by key, anything deeper is replaced as a whole, and lists
replace lists unless empty; build's one-of keys local/googleCloudBuild/cluster replace each
other), then its `patches`, JSON Patch (RFC 6902) with `op` defaulting to `replace`. The
result must validate too: a patch that removes a path that is not there fails, as skaffold
refuses such a profile."""
from __future__ import annotations

import copy
import glob
import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from testkit.services import service_missing
from tests.chart.chart import REPO, one, render, schema

VERSION = "v4beta14"
SKAFFOLD = REPO / "skaffold.yaml"
MERGED_SECTIONS = ("build", "deploy", "manifests", "resourceSelector")  # Go structs; the rest are lists
BUILD_TYPES = {"local", "googleCloudBuild", "cluster"}  # BuildConfig's one-of (checked against the schema)


def documents() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(SKAFFOLD.read_text()) if d]


def skaffold() -> dict[str, Any]:
    return documents()[0]


def skaffold_schema() -> dict[str, Any]:
    path = Path(os.environ.get("SKAFFOLD_SCHEMA") or REPO.parent / "shared" / "schemas" / "skaffold" / f"{VERSION}.json")
    if not path.is_file():
        service_missing(f"skaffold's JSON Schema {path} is missing (set SKAFFOLD_SCHEMA; ../shared/schemas/README.md)")
    return json.loads(path.read_text())


# ---- profiles, as skaffold applies them ----------------------------------------------------

def _empty(value: Any) -> bool:
    """What skaffold's overlay treats as unset: nil, "", 0, an empty list. (`{}` is a set
    pointer to an empty struct, and false a set *bool: both count.)"""
    return value is None or (type(value) in (str, int, list) and not value)


def _overlay(config: dict[str, Any], profile: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(config)
    for field, value in profile.items():
        if field in ("name", "activation", "requiresAllActivations", "patches") or _empty(value):
            continue
        if field in MERGED_SECTIONS:
            section = out.setdefault(field, {})
            for key, child in value.items():
                if _empty(child):
                    continue
                if field == "build" and key in BUILD_TYPES:
                    for other in BUILD_TYPES - {key}:
                        section.pop(other, None)
                section[key] = copy.deepcopy(child)
        else:
            out[field] = copy.deepcopy(value)
    return out


def _pointer(path: str) -> list[str]:
    assert path.startswith("/"), f"a JSON Pointer starts with /: {path!r}"
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, path: str) -> tuple[Any, str]:
    *parents, last = _pointer(path)
    for part in parents:
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc, last


def _get(doc: Any, path: str) -> Any:
    parent, last = _parent(doc, path)
    return parent[int(last)] if isinstance(parent, list) else parent[last]


def _remove(doc: Any, path: str) -> Any:
    parent, last = _parent(doc, path)
    return parent.pop(int(last) if isinstance(parent, list) else last)  # KeyError/IndexError: no such path


def _add(doc: Any, path: str, value: Any) -> None:
    parent, last = _parent(doc, path)
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last)
        assert 0 <= index <= len(parent), f"{path}: index out of range"
        parent.insert(index, value)
    else:
        parent[last] = value


def json_patch(doc: Any, patches: list[dict[str, Any]]) -> Any:
    doc = copy.deepcopy(doc)
    for patch in patches:
        op, path = patch.get("op", "replace"), patch["path"]
        if op == "add":
            _add(doc, path, copy.deepcopy(patch["value"]))
        elif op == "remove":
            _remove(doc, path)
        elif op == "replace":
            _remove(doc, path)
            _add(doc, path, copy.deepcopy(patch["value"]))
        elif op in ("move", "copy"):
            value = _remove(doc, patch["from"]) if op == "move" else copy.deepcopy(_get(doc, patch["from"]))
            _add(doc, path, value)
        elif op == "test":
            assert _get(doc, path) == patch["value"], f"test failed at {path}"
        else:
            raise AssertionError(f"unknown patch op {op!r}")
    return doc


def with_profile(config: dict[str, Any], *names: str) -> dict[str, Any]:
    """`config` with the named profiles applied, in that order (skaffold: auto-activated
    ones first, then those named with -p)."""
    applied = config
    for name in names:
        profile = next(p for p in config["profiles"] if p["name"] == name)
        applied = json_patch(_overlay(applied, profile), profile.get("patches", []))
    applied = copy.deepcopy(applied)
    applied.pop("profiles", None)  # skaffold drops them once applied
    return applied


def test_json_patch_follows_rfc_6902_and_skaffold_defaults():
    doc = {"a": {"b": [1, 2]}, "c": 1}
    assert json_patch(doc, [{"path": "/c", "value": 2}]) == {"a": {"b": [1, 2]}, "c": 2}, "op defaults to replace"
    assert json_patch(doc, [{"op": "add", "path": "/a/b/1", "value": 9}])["a"]["b"] == [1, 9, 2]
    assert json_patch(doc, [{"op": "add", "path": "/a/b/-", "value": 9}])["a"]["b"] == [1, 2, 9]
    assert json_patch(doc, [{"op": "remove", "path": "/a/b/0"}])["a"]["b"] == [2]
    assert json_patch(doc, [{"op": "move", "from": "/c", "path": "/d"}]) == {"a": {"b": [1, 2]}, "d": 1}
    for bad in ({"op": "remove", "path": "/nope"}, {"path": "/nope", "value": 1}, {"op": "test", "path": "/c", "value": 2}):
        with pytest.raises((KeyError, IndexError, AssertionError)):
            json_patch(doc, [bad])
    assert doc == {"a": {"b": [1, 2]}, "c": 1}, "the input is not changed"


def test_profile_overlay_follows_skaffolds_rules():
    config = {"build": {"local": {"push": False}, "artifacts": [{"image": "a"}], "tagPolicy": {"sha256": {}}},
              "deploy": {"helm": {"releases": [{"name": "r"}]}, "kubectl": {"flags": {"apply": ["--force"]}}},
              "portForward": [{"port": 1}]}
    unchanged = _overlay(config, {"name": "p", "build": {"artifacts": [], "tagPolicy": None}, "portForward": []})
    assert unchanged == config, "empty lists and nulls change nothing"
    out = _overlay(config, {"name": "p", "build": {"cluster": {}}, "deploy": {"kubectl": {}},
                            "portForward": [{"port": 2}]})
    assert out["build"] == {"cluster": {}, "artifacts": [{"image": "a"}], "tagPolicy": {"sha256": {}}}, \
        "one build type replaces the other; the rest of build is kept"
    assert out["deploy"] == {"helm": {"releases": [{"name": "r"}]}, "kubectl": {}}, "below a section: replaced whole"
    assert out["portForward"] == [{"port": 2}], "lists are replaced"


# ---- the schema --------------------------------------------------------------------------

def test_every_document_validates_against_skaffolds_schema():
    sk_schema = skaffold_schema()
    jsonschema.Draft7Validator.check_schema(sk_schema)
    alternatives = [set(a["properties"]) for a in sk_schema["definitions"]["BuildConfig"]["anyOf"]]
    assert set().union(*alternatives) - set.intersection(*alternatives) == BUILD_TYPES
    validator = jsonschema.Draft7Validator(sk_schema)
    docs = documents()
    assert docs
    for doc in docs:
        assert doc["apiVersion"] == f"skaffold/{VERSION}" and doc["kind"] == "Config"
        errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(doc)]
        assert not errors, errors


# Each profile alone, and `skaffold dev -p kustomize` (dev is auto-activated, so it comes first).
@pytest.mark.parametrize("names", [(p["name"],) for d in documents() for p in d.get("profiles", [])]
                         + [("dev", "kustomize")], ids="+".join)
def test_every_profile_applied_validates_against_skaffolds_schema(names):
    validator = jsonschema.Draft7Validator(skaffold_schema())
    doc = next(d for d in documents() if set(names) <= {p["name"] for p in d.get("profiles", [])})
    applied = with_profile(doc, *names)
    errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(applied)]
    assert not errors, (names, errors)
    assert applied != {k: v for k, v in doc.items() if k != "profiles"}, f"profiles {names} change nothing"


def test_schema_refuses_what_skaffold_refuses():
    """The control: the schema is strict enough to catch a typo, inside a profile too."""
    validator = jsonschema.Draft7Validator(skaffold_schema())
    broken = skaffold()
    broken["deploy"]["helm"]["releases"][0]["chartPth"] = broken["deploy"]["helm"]["releases"][0].pop("chartPath")
    assert not validator.is_valid(broken)
    broken = skaffold()
    broken["profiles"][0]["patches"][0]["operation"] = "remove"
    assert not validator.is_valid(broken)


# ---- what skaffold.yaml points at --------------------------------------------------------

def test_skaffold_config_points_at_real_things():
    config = skaffold()
    artifact = config["build"]["artifacts"][0]
    assert artifact["image"] == "vigil" and config["build"]["local"]["push"] is False
    assert (REPO / artifact["context"] / artifact["docker"]["dockerfile"]).is_file()
    for rule in artifact["sync"]["manual"]:
        assert glob.glob(str(REPO / rule["src"]), recursive=True), rule["src"]
    assert {r["src"] for r in artifact["sync"]["manual"]} == {"app/templates/**", "app/static/**"}
    release = config["deploy"]["helm"]["releases"][0]
    assert (REPO / release["chartPath"] / "Chart.yaml").exists()
    assert release["setValueTemplates"] == {"image.repository": "{{.IMAGE_REPO_vigil}}",
                                            "image.tag": "{{.IMAGE_TAG_vigil}}"}
    profiles = {p["name"]: p for p in config["profiles"]}
    for path in profiles["kustomize"]["manifests"]["kustomize"]["paths"]:
        assert (REPO / path / "kustomization.yaml").exists()
    assert profiles["ca"]["patches"][0]["value"][0]["id"] == "pip_ca"
    forward = config["portForward"][0]
    assert (forward["resourceType"], forward["resourceName"], forward["port"]) == ("service", "vigil", 80)


def dockerfile_stages() -> list[str]:
    return [line.split()[-1] for line in (REPO / "Dockerfile").read_text().splitlines()
            if line.upper().startswith("FROM ") and " AS " in line.upper()]


def test_skaffold_dev_builds_the_development_target_and_reloads_templates():
    """`skaffold dev` auto-activates the dev profile: the Dockerfile's development stage (app
    files owned by the image's user, for the file sync) and VIGIL_ENV=development (Flask
    reloads synced templates). The production runtime stays the Dockerfile's last stage, so
    a plain `docker build` and `skaffold run` still make the production image."""
    config = skaffold()
    dev = next(p for p in config["profiles"] if p["name"] == "dev")
    assert dev["activation"] == [{"command": "dev"}]
    applied = with_profile(config, "dev")
    target = applied["build"]["artifacts"][0]["docker"]["target"]
    stages = dockerfile_stages()
    assert target == "development" and target in stages[:-1], stages
    assert stages[-1] == "runtime", "the last stage is what `docker build` without --target makes"
    assert "target" not in config["build"]["artifacts"][0]["docker"], "only skaffold dev builds it"
    release = applied["deploy"]["helm"]["releases"][0]
    assert release["setValues"]["config.env"] == "development"
    assert release["setValues"]["podSecurity.readOnlyRootFilesystem"] == "false", "the sync writes into /app"
    # `skaffold dev -p kustomize`: dev (auto-activated) first, then kustomize; still valid.
    both = with_profile(config, "dev", "kustomize")
    assert "helm" not in both["deploy"] and both["build"]["artifacts"][0]["docker"]["target"] == "development"


def _schema_node(path: str) -> dict[str, Any] | None:
    """The chart's schema node for a dotted values path (as helm --set writes it), or None."""
    root = schema()
    node: dict[str, Any] = root
    for part in path.split("."):
        while "$ref" in node:
            node = root["definitions"][node["$ref"].rsplit("/", 1)[1]]
        props = node.get("properties", {})
        if part in props:
            node = props[part]
        elif isinstance(node.get("additionalProperties"), dict):  # a map: any key, typed values
            node = node["additionalProperties"]
        else:
            return None
    return node


def chart_value_paths(config: dict[str, Any]) -> set[str]:
    paths = set()
    for release in config.get("deploy", {}).get("helm", {}).get("releases", []):
        paths |= set(release.get("setValues", {})) | set(release.get("setValueTemplates", {}))
    return paths


def test_skaffold_sets_only_values_the_chart_schema_has():
    """With every profile applied too: a renamed chart value must not silently become a
    no-op (helm would refuse it at deploy time, long after the edit)."""
    config = skaffold()
    paths = chart_value_paths(config)
    for profile in config.get("profiles", []):
        paths |= chart_value_paths(with_profile(config, profile["name"]))
    assert len(paths) >= 6
    unknown = sorted(p for p in paths if _schema_node(p) is None)
    assert not unknown, f"skaffold.yaml sets values charts/vigil/values.schema.json does not have: {unknown}"


def test_skaffold_helm_values_render():
    release = skaffold()["deploy"]["helm"]["releases"][0]
    values = {k: yaml.safe_load(v) for k, v in release["setValues"].items()}  # helm --set typing
    values.update({"image.repository": "vigil", "image.tag": "dev-abc123"})
    objects = render((), values, namespace=release["namespace"])
    assert one(objects, "Deployment", "vigil")["spec"]["template"]["spec"]["containers"][0]["image"] == "vigil:dev-abc123"
    assert one(objects, "Service", skaffold()["portForward"][0]["resourceName"])
