"""fanout.kube.schema against the real schemas bundled by kubernetes-validate."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from fanout.core.errors import FanoutError
from fanout.kube.crdschema import openapi_to_json_schema
from fanout.kube.schema import (
    DEFAULT_KUBERNETES_VERSION,
    INSTALL_COMMAND,
    KubernetesSchemas,
    MissingSchema,
    supported_versions,
)
from fanout.kube.violations import Violation

REPO_ROOT = Path(__file__).resolve().parents[1]


def deployment(**spec_changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "pacman", "namespace": "pacman", "labels": {"app": "pacman"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "pacman"}},
            "template": {
                "metadata": {"labels": {"app": "pacman"}},
                "spec": {
                    "containers": [
                        {
                            "name": "pacman",
                            "image": "quay.io/ifont/pacman-nodejs-app:latest",
                            "ports": [{"containerPort": 8080, "name": "http"}],
                            "env": [{"name": "MONGO_SERVICE_HOST", "value": "mongo"}],
                            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                        }
                    ]
                },
            },
        },
    }
    obj["spec"].update(spec_changes)
    return obj


SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {
        "name": "pacman",
        "namespace": "pacman",
        "annotations": {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"},
    },
    "spec": {
        "type": "LoadBalancer",
        "selector": {"app": "pacman"},
        "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
    },
}
CONFIG_MAP = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "pacman-config", "namespace": "pacman"},
    "data": {"start.sh": "echo ${HOME}\n", "domain": "pacman.example.com"},
}
NAMESPACE = {
    "apiVersion": "v1",
    "kind": "Namespace",
    "metadata": {"name": "pacman", "labels": {"env": "prod"}},
}

WIDGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "required": ["size"],
                                "properties": {
                                    "size": {"type": "integer", "minimum": 1, "maximum": 10},
                                    "colour": {"type": "string", "enum": ["red", "green"], "nullable": True},
                                    "port": {"x-kubernetes-int-or-string": True},
                                    "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                                },
                            }
                        },
                    }
                },
            },
            {
                "name": "v0",
                "served": False,
                "storage": False,
                "schema": {"openAPIV3Schema": {"type": "object"}},
            },
        ],
    },
}


def widget(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "namespace": "pacman"},
        "spec": spec,
    }


@pytest.fixture(scope="module")
def strict() -> KubernetesSchemas:
    return KubernetesSchemas("1.31", strict=True, crds=[WIDGET_CRD])


@pytest.fixture(scope="module")
def loose() -> KubernetesSchemas:
    return KubernetesSchemas("1.31", strict=False, crds=[WIDGET_CRD])


# -- built-in kinds ----------------------------------------------------------------------------------


@pytest.mark.parametrize("flavour", ["strict", "loose"])
def test_string_replicas_fail_with_pointer_and_short_message(
    flavour: str, request: pytest.FixtureRequest
) -> None:
    schemas: KubernetesSchemas = request.getfixturevalue(flavour)
    assert schemas.validate(deployment(replicas="three")) == [
        Violation("/spec/replicas", "'three' is not of type 'integer'")
    ]


def test_field_typo_fails_only_in_strict_mode(strict: KubernetesSchemas, loose: KubernetesSchemas) -> None:
    typo = deployment()
    typo["spec"]["replica"] = 3
    assert loose.validate(typo) == []
    assert strict.validate(typo) == [Violation("/spec/replica", 'unknown field "replica"')]


@pytest.mark.parametrize("obj", [deployment(), SERVICE, CONFIG_MAP, NAMESPACE], ids=lambda o: o["kind"])
def test_valid_objects_pass_in_strict_mode(strict: KubernetesSchemas, obj: dict[str, Any]) -> None:
    assert strict.validate(obj) == []


def test_every_problem_in_an_object_is_reported_sorted_by_pointer(strict: KubernetesSchemas) -> None:
    bad = deployment(replicas="three")
    bad["metadata"]["labels"]["tier"] = 3
    container = bad["spec"]["template"]["spec"]["containers"][0]
    container["ports"][0]["containerPort"] = "8080"
    container["imagePullPolicie"] = "Always"
    container["resources"]["requests"]["cpu"] = True
    assert strict.validate(bad) == [
        Violation("/metadata/labels/tier", "3 is not of type 'string'"),
        Violation("/spec/replicas", "'three' is not of type 'integer'"),
        Violation("/spec/template/spec/containers/0/imagePullPolicie", 'unknown field "imagePullPolicie"'),
        Violation(
            "/spec/template/spec/containers/0/ports/0/containerPort", "'8080' is not of type 'integer'"
        ),
        Violation(
            "/spec/template/spec/containers/0/resources/requests/cpu",
            "true is not of type 'string' or 'number'",
        ),
    ]


def test_missing_required_fields_point_at_their_parent(strict: KubernetesSchemas) -> None:
    bad = deployment()
    del bad["spec"]["selector"], bad["spec"]["template"]
    assert strict.validate(bad) == [
        Violation("/spec", 'missing required field "selector"'),
        Violation("/spec", 'missing required field "template"'),
    ]


def test_int_or_string_alternatives_read_as_one_type_message(strict: KubernetesSchemas) -> None:
    svc = copy.deepcopy(SERVICE)
    svc["spec"]["ports"][0]["targetPort"] = [80]
    assert strict.validate(svc) == [
        Violation("/spec/ports/0/targetPort", "[80] is not of type 'string' or 'integer'")
    ]


def test_pointer_escapes_slash_and_tilde_in_keys(strict: KubernetesSchemas) -> None:
    cm = copy.deepcopy(CONFIG_MAP)
    cm["metadata"]["annotations"] = {"example.com/a~b": 1}
    assert strict.validate(cm) == [
        Violation("/metadata/annotations/example.com~1a~0b", "1 is not of type 'string'")
    ]


def test_long_values_are_shortened_in_messages(strict: KubernetesSchemas) -> None:
    bad = deployment(replicas="x" * 500)
    [violation] = strict.validate(bad)
    assert violation.pointer == "/spec/replicas"
    assert len(violation.message) < 100
    assert violation.message.endswith("...' is not of type 'integer'")


def test_object_without_api_version_or_kind_is_a_violation(strict: KubernetesSchemas) -> None:
    assert strict.validate({"metadata": {"name": "x"}}) == [
        Violation("", 'missing required field "apiVersion"'),
        Violation("", 'missing required field "kind"'),
    ]


def test_one_validator_per_kind_is_built_and_reused(strict: KubernetesSchemas) -> None:
    first = strict._validator_for("apps/v1", "Deployment")
    strict.validate(deployment())
    assert strict._validator_for("apps/v1", "Deployment") is first


def test_other_api_groups_use_their_first_label_file() -> None:
    schemas = KubernetesSchemas("1.31", strict=True)
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "reader", "namespace": "pacman"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"], "verb": ["list"]}],
    }
    assert schemas.validate(role) == [Violation("/rules/0/verb", 'unknown field "verb"')]


# -- missing schemas --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [
        ("example.com/v1", "Gadget"),  # nobody defines it
        ("extensions/v1beta1", "Deployment"),  # removed from Kubernetes long ago
        ("apps.example.com/v1", "Deployment"),  # would find apps/v1's file by name alone
        ("example.com/v0", "Widget"),  # the CRD does not serve v0
    ],
)
def test_kind_without_schema_raises_missing_schema(
    strict: KubernetesSchemas, api_version: str, kind: str
) -> None:
    with pytest.raises(MissingSchema) as caught:
        strict.validate({"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}})
    assert (caught.value.api_version, caught.value.kind) == (api_version, kind)
    assert str(caught.value) == f"no schema for {api_version} {kind} in Kubernetes 1.31"
    assert not strict.has_schema(api_version, kind)


# -- custom resources -------------------------------------------------------------------------------


def test_custom_resource_is_validated_against_its_crd(strict: KubernetesSchemas) -> None:
    assert strict.has_schema("example.com/v1", "Widget")
    assert strict.validate(widget(size=3, colour=None, port="http", extra={"anything": [1]})) == []
    assert strict.validate(widget(size="big")) == [Violation("/spec/size", "'big' is not of type 'integer'")]
    assert strict.validate(widget(size=11)) == [
        Violation("/spec/size", "11 is greater than the maximum of 10")
    ]
    assert strict.validate(widget(size=1, colour="blue")) == [
        Violation("/spec/colour", "'blue' is not one of 'red', 'green'")
    ]
    assert strict.validate(widget(size=1, port=[1])) == [
        Violation("/spec/port", "[1] is not of type 'integer' or 'string'")
    ]
    assert strict.validate(widget()) == [Violation("/spec", 'missing required field "size"')]


def test_custom_resource_unknown_field_fails_only_in_strict_mode(
    strict: KubernetesSchemas, loose: KubernetesSchemas
) -> None:
    typo = widget(size=1, colur="red")
    assert loose.validate(typo) == []
    assert strict.validate(typo) == [Violation("/spec/colur", 'unknown field "colur"')]


def test_custom_resource_metadata_gets_the_kubernetes_object_meta_schema(strict: KubernetesSchemas) -> None:
    cr = widget(size=1)
    cr["metadata"]["labels"] = {"replicas": 3}
    assert strict.validate(cr) == [Violation("/metadata/labels/replicas", "3 is not of type 'string'")]


def test_the_crd_itself_is_validated_against_the_bundled_crd_schema(strict: KubernetesSchemas) -> None:
    assert strict.validate(WIDGET_CRD) == []
    broken = copy.deepcopy(WIDGET_CRD)
    broken["spec"]["scopes"] = "Namespaced"
    assert strict.validate(broken) == [Violation("/spec/scopes", 'unknown field "scopes"')]


def test_crd_with_an_invalid_schema_is_a_problem_at_its_pointer() -> None:
    crd = copy.deepcopy(WIDGET_CRD)
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["type"] = "objekt"
    schemas = KubernetesSchemas("1.31", crds=[crd])
    [problem] = schemas.crd_problems
    assert problem.index == 0
    assert problem.pointer == "/spec/versions/0/schema/openAPIV3Schema/properties/spec/type"
    assert problem.message.startswith(
        "CustomResourceDefinition widgets.example.com version v1: invalid openAPIV3Schema"
    )
    # Its custom resources are not passed: they have no schema, and the reason says why.
    with pytest.raises(MissingSchema) as caught:
        schemas.validate({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})
    assert "is invalid, so it is not validated" in caught.value.reason


@pytest.mark.parametrize(
    "schema",
    [
        "oops",
        {"openAPIV3Schema": "oops"},
        {"openAPIV3Schema": {"type": "object", "properties": "oops"}},
        {"openAPIV3Schema": {"properties": {"spec": {"properties": ["a"]}}}},
        [1, 2],
    ],
)
def test_a_crd_of_any_shape_is_a_problem_never_a_crash(schema: object) -> None:
    crd = copy.deepcopy(WIDGET_CRD)
    crd["spec"]["versions"][0]["schema"] = schema
    schemas = KubernetesSchemas("1.31", crds=[crd])
    assert [p.pointer.startswith("/spec/versions/0/schema") for p in schemas.crd_problems] == [True]
    assert not schemas.has_schema("example.com/v1", "Widget")


def test_two_crds_giving_one_kind_different_schemas_is_a_problem() -> None:
    other = copy.deepcopy(WIDGET_CRD)
    other["metadata"]["name"] = "widgets-again.example.com"
    other["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["required"] = []
    [problem] = KubernetesSchemas("1.31", crds=[WIDGET_CRD, other]).crd_problems
    assert problem.index == 1 and "give example.com/v1 Widget different schemas" in problem.message
    # The same CRD seen twice (for example once per cluster) is fine.
    assert KubernetesSchemas("1.31", crds=[WIDGET_CRD, copy.deepcopy(WIDGET_CRD)]).has_schema(
        "example.com/v1", "Widget"
    )


def test_openapi_translation_and_strict_rule() -> None:
    source = {
        "type": "object",
        "properties": {
            "n": {"type": "number", "minimum": 0, "exclusiveMinimum": True, "nullable": True},
            "free": {"type": "object", "properties": {"a": {}}, "x-kubernetes-preserve-unknown-fields": True},
            "choice": {"type": "object", "properties": {"a": {}}, "anyOf": [{"properties": {"a": {}}}]},
            "embedded": {
                "type": "object",
                "x-kubernetes-embedded-resource": True,
                "properties": {"spec": {}},
            },
        },
    }
    assert openapi_to_json_schema(source, strict=True) == {
        "type": "object",
        "properties": {
            "n": {"type": ["number", "null"], "exclusiveMinimum": 0, "nullable": True},
            "free": {"type": "object", "properties": {"a": {}}, "x-kubernetes-preserve-unknown-fields": True},
            "choice": {
                "type": "object",
                "properties": {"a": {}},
                "anyOf": [{"properties": {"a": {}}}],  # never closed inside a junctor
                "additionalProperties": False,
            },
            "embedded": {
                "type": "object",
                "x-kubernetes-embedded-resource": True,
                "properties": {
                    "spec": {},
                    "apiVersion": {"type": "string"},
                    "kind": {"type": "string"},
                    "metadata": {"type": "object"},
                },
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    }
    assert "additionalProperties" not in openapi_to_json_schema(source, strict=False)


# -- --schema-dir ---------------------------------------------------------------------------------


GADGET_SCHEMA = {
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "properties": {"teeth": {"type": "integer"}},
            "additionalProperties": False,
        },
    },
}


def gadget(api_version: str, teeth: Any) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": "Gadget", "metadata": {"name": "g"}, "spec": {"teeth": teeth}}


@pytest.mark.parametrize(
    ("file_name", "api_version"),
    [
        ("gadget-stable-v1.json", "stable.example.com/v1"),  # kubeconform: {kind}-{first label}-{version}
        ("gadget-stable.example.com-v1.json", "stable.example.com/v1"),  # {kind}-{group}-{version}
        ("gadget_v1.json", "stable.example.com/v1"),  # {kind}_{version}
        # the CRDs-catalog layout: {group}/{kind}_{version}
        ("stable.example.com/gadget_v1.json", "stable.example.com/v1"),
        ("gadget-v1.json", "v1"),  # core group: {kind}-{version}
    ],
)
def test_schema_dir_file_names_are_picked_up(tmp_path: Path, file_name: str, api_version: str) -> None:
    target = tmp_path / "schemas" / file_name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(GADGET_SCHEMA))
    schemas = KubernetesSchemas("1.31", schema_dirs=[tmp_path / "schemas"])
    assert schemas.validate(gadget(api_version, 3)) == []
    assert schemas.validate(gadget(api_version, "many")) == [
        Violation("/spec/teeth", "'many' is not of type 'integer'")
    ]


def test_schema_dir_files_are_per_version(tmp_path: Path) -> None:
    (tmp_path / "gadget-stable-v1.json").write_text(json.dumps(GADGET_SCHEMA))
    schemas = KubernetesSchemas("1.31", schema_dirs=[tmp_path])
    with pytest.raises(MissingSchema):
        schemas.validate(gadget("stable.example.com/v2", 3))


def test_schema_dirs_come_before_bundled_schemas_in_the_order_given(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (first / "configmap-v1.json").write_text(json.dumps({"type": "object", "required": ["immutable"]}))
    (second / "configmap-v1.json").write_text(json.dumps({"type": "object", "required": ["binaryData"]}))
    schemas = KubernetesSchemas("1.31", schema_dirs=[first, second])
    assert schemas.validate(CONFIG_MAP) == [Violation("", 'missing required field "immutable"')]


def test_schema_dir_relative_refs_resolve_to_files_in_the_dir(tmp_path: Path) -> None:
    (tmp_path / "_definitions.json").write_text(
        json.dumps({"definitions": {"teeth": {"type": "integer", "minimum": 0}}})
    )
    (tmp_path / "gadget_v1.json").write_text(
        json.dumps(
            {
                "$schema": "http://json-schema.org/draft-07/schema#",
                "type": "object",
                "properties": {
                    "spec": {"properties": {"teeth": {"$ref": "_definitions.json#/definitions/teeth"}}}
                },
            }
        )
    )
    schemas = KubernetesSchemas("1.31", schema_dirs=[tmp_path])
    assert schemas.validate(gadget("stable.example.com/v1", 4)) == []
    assert schemas.validate(gadget("stable.example.com/v1", -1)) == [
        Violation("/spec/teeth", "-1 is less than the minimum of 0")
    ]


@pytest.mark.parametrize(
    "ref",
    ["https://example.com/schemas/teeth.json", "file:///etc/hostname", "../outside.json"],
)
def test_refs_outside_the_schema_dirs_fail_closed(tmp_path: Path, ref: str) -> None:
    (tmp_path / "outside.json").write_text(json.dumps({"type": "integer"}))
    schema_dir = tmp_path / "schemas"
    schema_dir.mkdir()
    (schema_dir / "gadget_v1.json").write_text(
        json.dumps({"type": "object", "properties": {"spec": {"$ref": ref}}})
    )
    schemas = KubernetesSchemas("1.31", schema_dirs=[schema_dir])
    with pytest.raises(FanoutError, match="cannot resolve: it never downloads schemas"):
        schemas.validate(gadget("stable.example.com/v1", 3))


def test_schema_dir_problems_are_fanout_errors(tmp_path: Path) -> None:
    with pytest.raises(FanoutError, match="not a directory"):
        KubernetesSchemas("1.31", schema_dirs=[tmp_path / "nope"])
    (tmp_path / "gadget_v1.json").write_text('{"type": "object",\n  "properties": }')
    schemas = KubernetesSchemas("1.31", schema_dirs=[tmp_path])
    with pytest.raises(FanoutError) as caught:
        schemas.validate(gadget("stable.example.com/v1", 3))
    [problem] = caught.value.problems
    assert problem.location is not None
    assert (problem.location.path, problem.location.line) == (str(tmp_path / "gadget_v1.json"), 2)
    assert problem.message.startswith("not valid JSON")
    (tmp_path / "gadget_v1.json").write_text(json.dumps({"type": "objekt"}))
    with pytest.raises(FanoutError, match="invalid JSON Schema at /type"):
        KubernetesSchemas("1.31", schema_dirs=[tmp_path]).validate(gadget("stable.example.com/v1", 3))


# -- versions and installation --------------------------------------------------------------------


def test_supported_versions_cover_the_bundled_range() -> None:
    versions = supported_versions()
    assert {"1.25", "1.31"} <= set(versions)
    assert versions == sorted(versions, key=lambda v: tuple(map(int, v.split("."))))


@pytest.mark.parametrize("spelling", ["1.31", "v1.31", "1.31.4"])
def test_version_spellings(spelling: str) -> None:
    assert KubernetesSchemas(spelling).version == "1.31"


def test_default_version_is_the_documented_one() -> None:
    assert KubernetesSchemas().version == DEFAULT_KUBERNETES_VERSION == "1.31"


def test_version_choice_matters() -> None:
    # autoscaling/v2beta2 was removed in Kubernetes 1.26.
    hpa = {"apiVersion": "autoscaling/v2beta2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "a"}}
    assert KubernetesSchemas("1.25").has_schema("autoscaling/v2beta2", "HorizontalPodAutoscaler")
    with pytest.raises(MissingSchema):
        KubernetesSchemas("1.31").validate(hpa)


@pytest.mark.parametrize("version", ["1.99", "1.2", "latest", "2"])
def test_unsupported_version_is_a_fanout_error_listing_supported_ones(version: str) -> None:
    with pytest.raises(FanoutError) as caught:
        KubernetesSchemas(version)
    [problem] = caught.value.problems
    assert problem.message.startswith(
        f"Kubernetes version {version!r} is not supported: kubernetes-validate "
    )
    assert "bundles 1.25, 1.26, " in problem.message
    assert ", 1.31" in problem.message


def test_missing_package_names_the_exact_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry in sys.modules is how Python spells "this module cannot be imported".
    monkeypatch.setitem(sys.modules, "kubernetes_validate", None)
    with pytest.raises(FanoutError) as caught:
        KubernetesSchemas("1.31")
    assert INSTALL_COMMAND == "pip install 'fanout-gitops[kubernetes]'"
    assert str(caught.value).endswith(f"install it with: {INSTALL_COMMAND}")


def test_importing_the_module_does_not_import_kubernetes_validate() -> None:
    code = "import sys, fanout.kube.schema; print('kubernetes_validate' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"


# -- offline --------------------------------------------------------------------------------------

OFFLINE_SCRIPT = textwrap.dedent(
    """
    import json, sys

    def no_network(event, args):
        # Any attempt to resolve a host name or open a connection ends the run.
        if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "urllib.Request"):
            raise SystemExit(f"network access attempted: {event} {args!r}")

    sys.addaudithook(no_network)

    from fanout.core.errors import FanoutError
    from fanout.kube.schema import KubernetesSchemas

    crd, objects, schema_dir = json.load(sys.stdin)
    schemas = KubernetesSchemas("1.31", strict=True, schema_dirs=[schema_dir], crds=[crd])
    for obj in objects:
        print(json.dumps([[v.pointer, v.message] for v in schemas.validate(obj)]))
    try:
        schemas.validate({"apiVersion": "remote.example.com/v1", "kind": "Remote", "spec": {}})
    except FanoutError as exc:
        print("remote:", exc)
    """
)


def test_validation_works_with_networking_unusable(tmp_path: Path) -> None:
    (tmp_path / "remote_v1.json").write_text(
        json.dumps({"properties": {"spec": {"$ref": "https://example.com/remote.json"}}})
    )
    bad = deployment()
    bad["spec"]["replica"] = 3
    objects = [deployment(), bad, SERVICE, widget(size="big")]
    dead_proxy = "http://127.0.0.1:9"
    env = {
        **os.environ,
        "HTTP_PROXY": dead_proxy,
        "HTTPS_PROXY": dead_proxy,
        "http_proxy": dead_proxy,
        "https_proxy": dead_proxy,
        "ALL_PROXY": dead_proxy,
        "all_proxy": dead_proxy,
        "NO_PROXY": "",
        "no_proxy": "",
        "PYTHONPATH": str(REPO_ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-c", OFFLINE_SCRIPT],
        input=json.dumps([WIDGET_CRD, objects, str(tmp_path)]),
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "[]",
        '[["/spec/replica", "unknown field \\"replica\\""]]',
        "[]",
        "[[\"/spec/size\", \"'big' is not of type 'integer'\"]]",
        "remote: the schema for remote.example.com/v1 Remote refers to 'https://example.com/remote.json', "
        "which fanout cannot resolve: it never downloads schemas; put referenced files in a --schema-dir",
    ]


def test_alternatives_that_are_not_just_types(strict: KubernetesSchemas) -> None:
    svc = copy.deepcopy(SERVICE)
    svc["spec"]["ports"][0]["targetPort"] = None  # IntOrString's two alternatives both allow null
    assert strict.validate(svc) == [
        Violation("/spec/ports/0/targetPort", "null matches more than one of the allowed forms")
    ]
    crd = copy.deepcopy(WIDGET_CRD)
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    spec["anyOf"] = [{"required": ["colour"]}, {"required": ["port"]}]
    spec["properties"]["tags"] = {"type": "array", "items": {"type": "string"}, "maxItems": 1}
    schemas = KubernetesSchemas("1.31", strict=True, crds=[crd])
    # The most relevant alternative's failure stands for the whole anyOf.
    assert schemas.validate(widget(size=1)) == [Violation("/spec", 'missing required field "colour"')]
    assert schemas.validate(widget(size=1, port=80, tags=[1, "a"])) == [
        Violation("/spec/tags", "[1, 'a'] is too long"),
        Violation("/spec/tags/0", "1 is not of type 'string'"),
    ]
