"""JSON Schemas from CustomResourceDefinitions: their openAPIV3Schema as the API server reads it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jsonschema
import jsonschema.exceptions

from fanout.kube.violations import pointer_of, show

DEFINITIONS_URI = "https://kubernetes.io/api/_definitions.json"
_OBJECT_META_REF = DEFINITIONS_URI + "#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"

# --------------------------------------------------------------------------------------------------
# Schemas from CustomResourceDefinitions


def openapi_to_json_schema(node: Any, *, strict: bool, structural: bool = True) -> Any:
    """Translate a CRD's OpenAPI v3 schema into JSON Schema 2020-12, optionally in the strict flavour.

    - ``nullable: true`` adds ``null`` to ``type`` (and to ``enum``);
    - boolean ``exclusiveMinimum``/``exclusiveMaximum`` (OpenAPI 3.0) become the numeric JSON Schema form;
    - ``x-kubernetes-int-or-string: true`` without its own ``anyOf`` accepts integers and strings.

    The strict rule, the one the strict flavour of the bundled schemas follows: a schema node that lists
    ``properties``, has no ``additionalProperties`` of its own and is not marked
    ``x-kubernetes-preserve-unknown-fields: true`` rejects every field it does not list. It applies to
    structural nodes only, never inside ``allOf``/``anyOf``/``oneOf``/``not``: Kubernetes allows those to
    restate only fields the structural part already declares, so closing them would reject valid objects.
    An ``x-kubernetes-embedded-resource`` node always accepts ``apiVersion``, ``kind`` and ``metadata``.
    """
    if isinstance(node, list):
        return [openapi_to_json_schema(item, strict=strict, structural=structural) for item in node]
    if not isinstance(node, Mapping):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties", "definitions", "$defs") and isinstance(value, Mapping):
            out[key] = {
                name: openapi_to_json_schema(sub, strict=strict, structural=structural)
                for name, sub in value.items()
            }
        elif key in ("items", "additionalProperties", "additionalItems"):
            out[key] = openapi_to_json_schema(value, strict=strict, structural=structural)
        elif key in ("allOf", "anyOf", "oneOf", "not"):
            out[key] = openapi_to_json_schema(value, strict=strict, structural=False)
        else:
            out[key] = value
    if out.get("nullable") is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        flag = out.get(exclusive)
        if isinstance(flag, bool):
            del out[exclusive]
            if flag and bound in out:
                out[exclusive] = out.pop(bound)
    if (
        out.get("x-kubernetes-int-or-string") is True
        and "type" not in out
        and not ("anyOf" in out or "oneOf" in out or "allOf" in out)
    ):
        out["type"] = ["integer", "string"]
    if out.get("x-kubernetes-embedded-resource") is True and isinstance(out.get("properties"), dict):
        for name, schema in (("apiVersion", {"type": "string"}), ("kind", {"type": "string"})):
            out["properties"].setdefault(name, schema)
        out["properties"].setdefault("metadata", {"type": "object"})
    if (
        strict
        and structural
        and isinstance(out.get("properties"), dict)
        and "additionalProperties" not in out
        and out.get("x-kubernetes-preserve-unknown-fields") is not True
    ):
        out["additionalProperties"] = False
    return out


def _crd_root_schema(openapi: Mapping[str, Any], *, strict: bool) -> dict[str, Any]:
    root: dict[str, Any] = dict(openapi_to_json_schema(openapi, strict=strict))
    properties: dict[str, Any] = dict(root.get("properties") or {})
    # Kubernetes validates a custom resource's apiVersion, kind and metadata itself whether or not the CRD
    # declares them; metadata gets the bundled ObjectMeta schema, plus the CRD's own (name) restrictions.
    properties.setdefault("apiVersion", {"type": "string"})
    properties.setdefault("kind", {"type": "string"})
    own_meta = (
        openapi.get("properties", {}).get("metadata")
        if isinstance(openapi.get("properties"), Mapping)
        else None
    )
    object_meta: dict[str, Any] = {"$ref": _OBJECT_META_REF}
    if isinstance(own_meta, Mapping) and set(own_meta) - {"type", "description"}:
        # Not strictified: a CRD may only restrict metadata.name/generateName, never close metadata.
        object_meta = {"allOf": [object_meta, openapi_to_json_schema(own_meta, strict=False)]}
    properties["metadata"] = object_meta
    root["properties"] = properties
    return root


@dataclass(frozen=True)
class CrdProblem:
    """A CustomResourceDefinition fanout cannot use: ``index`` into the CRDs given, ``pointer`` into it."""

    index: int
    pointer: str
    message: str


def crd_schemas(
    crds: Sequence[Mapping[str, Any]], *, strict: bool
) -> tuple[dict[tuple[str, str], dict[str, Any]], list[CrdProblem], dict[tuple[str, str], str]]:
    """The schema of every served version, what is wrong with the CRDs that have none, and the kinds of those.

    Every field is checked for its type before it is read: a CRD of any shape is a problem, never a crash."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    origin: dict[tuple[str, str], str] = {}
    problems: list[CrdProblem] = []
    rejected: dict[tuple[str, str], str] = {}
    for index, crd in enumerate(crds):
        spec = crd.get("spec")
        if crd.get("kind") != "CustomResourceDefinition" or not isinstance(spec, Mapping):
            continue
        names = spec.get("names")
        group, kind = spec.get("group"), names.get("kind") if isinstance(names, Mapping) else None
        versions = spec.get("versions")
        if not isinstance(group, str) or not isinstance(kind, str) or not isinstance(versions, list):
            continue  # its own schema validation reports it; without a group and kind it defines no kind
        metadata = crd.get("metadata")
        crd_name = str(metadata.get("name")) if isinstance(metadata, Mapping) else f"{kind.lower()}.{group}"
        for position, version in enumerate(versions):
            if not isinstance(version, Mapping) or version.get("served") is not True:
                continue
            key = (f"{group}/{version.get('name')}", kind)
            at = f"/spec/versions/{position}/schema"
            holder = version.get("schema", {})
            openapi = holder.get("openAPIV3Schema") if isinstance(holder, Mapping) else holder
            if openapi is None:
                openapi = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
            where = f"CustomResourceDefinition {crd_name} version {version.get('name')}"
            try:
                if not isinstance(openapi, Mapping):
                    raise jsonschema.exceptions.SchemaError(f"{show(openapi)} is not an object")
                schema = _crd_root_schema(openapi, strict=strict)
                jsonschema.Draft202012Validator.check_schema(schema)
            except (jsonschema.exceptions.SchemaError, TypeError, ValueError, AttributeError) as exc:
                # TypeError and friends: a part of the schema of the wrong shape, met while converting it.
                message = exc.message if isinstance(exc, jsonschema.exceptions.SchemaError) else str(exc)
                path = exc.absolute_path if isinstance(exc, jsonschema.exceptions.SchemaError) else ()
                pointer = at + ("/openAPIV3Schema" if isinstance(holder, Mapping) else "") + pointer_of(path)
                problems.append(CrdProblem(index, pointer, f"{where}: invalid openAPIV3Schema: {message}"))
                rejected[key] = f"its CustomResourceDefinition {crd_name} is invalid, so it is not validated"
                continue
            if key in found and found[key] != schema:
                problems.append(
                    CrdProblem(
                        index,
                        at,
                        f"{where} and {origin[key]} give {key[0]} {kind} different schemas; "
                        "fanout validates each kind against one schema",
                    )
                )
                continue
            found[key] = schema
            origin[key] = where
    return found, problems, rejected
