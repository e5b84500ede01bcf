"""Karmada's overriders, run on an object as ``pkg/util/overridemanager`` runs them, written down as JSON
Patch ops so that the patch stage (and ``fanout explain``) replays exactly what Karmada would apply.

Within a rule: image, command, args, labels, annotations, fieldOverrider, then plaintext
(``applyPolicyOverriders``). Every overrider's ops are applied at once, as Karmada applies each patch; the
values they compute (a new image, a re-serialised YAML field) are the values Karmada computes.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import jsonpatch
import jsonpointer
import yaml

from fanout.core.document import escape
from fanout.core.goyaml import plain_value
from fanout.core.model import PatchOp
from fanout.core.words import plural
from fanout.formats.karmada_rules import ImageError, as_map, dig, override_image
from fanout.formats.karmada_serial import go_json, go_yaml, load_go_json

_POD_SPEC = {"Pod": "/spec"}
_POD_SPEC |= dict.fromkeys(
    ("ReplicaSet", "Deployment", "DaemonSet", "StatefulSet", "Job"), "/spec/template/spec"
)


class OverrideFailure(Exception):
    """An overrider that Karmada would fail on: ``pointer`` is where it is written in its policy."""

    def __init__(self, pointer: str, message: str) -> None:
        super().__init__(message)
        self.pointer = pointer
        self.message = message


class _Ops:
    """The ops of one rule, applied to ``obj`` as they are made."""

    def __init__(self, obj: dict[str, Any]) -> None:
        self.obj = obj
        self.ops: list[PatchOp] = []

    def apply(self, batch: Sequence[PatchOp], pointer: str, what: str) -> None:
        self.obj = apply_ops(self.obj, batch, pointer, what)
        self.ops.extend(batch)


def apply_ops(obj: dict[str, Any], batch: Sequence[PatchOp], pointer: str, what: str) -> dict[str, Any]:
    """``batch`` applied at once to ``obj`` (changed), as Karmada applies one patch; a failure is located at
    ``pointer`` in the policy."""
    raw = []
    for op in batch:
        entry: dict[str, Any] = {"op": op.op, "path": op.path}
        if op.has_value:
            entry["value"] = copy.deepcopy(op.value)
        raw.append(entry)
    try:
        patched: dict[str, Any] = jsonpatch.JsonPatch(raw).apply(obj, in_place=True)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
        raise OverrideFailure(pointer, f"{what}: {_reason(exc, raw)}") from None
    return patched


def _reason(exc: Exception, ops: Sequence[Mapping[str, Any]]) -> str:
    """Why a patch failed, without quoting the document (it may be a Secret's)."""
    if isinstance(exc, jsonpointer.JsonPointerException):
        paths = ", ".join(str(op.get("path")) for op in ops)
        return f"a path does not exist in the object ({paths})"
    return str(exc)


def _containers(obj: Mapping[str, Any], prefix: str) -> list[Any]:
    found = dig(obj, [*prefix.strip("/").split("/"), "containers"])
    return found if isinstance(found, list) else []


def _image_value(obj: Any, path: str) -> str:
    """``obtainImageValue``: walks maps and list indexes to the image string."""
    segments = path.strip("/").split("/")
    current = obj
    index = 0
    while index < len(segments) - 1:
        value = current.get(segments[index]) if isinstance(current, dict) else None
        if isinstance(value, dict):
            current = value
        elif isinstance(value, list):
            number = segments[index + 1]
            try:
                position = int(number)
            except ValueError:
                raise ValueError(f"path({number}) of rawObj's is not number") from None
            # Karmada indexes the Go slice (a panic, so no update, past its end); Python would count a
            # negative index from the end.
            if not 0 <= position < len(value):
                raise ValueError(
                    f"path({number}) is out of range: {segments[index]} has {plural(len(value), 'item')}"
                )
            current = value[position]
            if not isinstance(current, dict):
                raise ValueError(f"path({number}) is not a map")
            index += 1
        else:
            raise ValueError(f"path({segments[index]}) of rawObj's type is not map[string]interface{{}}")
        index += 1
    image = current.get(segments[-1]) if isinstance(current, dict) else None
    if not isinstance(image, str):
        raise ValueError(f"failed to convert path({segments[-1]}) to string")
    return image


def _images(ops: _Ops, kind: str, overriders: Sequence[Any], base: str) -> None:
    for index, overrider in enumerate(overriders):
        pointer = f"{base}/{index}"
        component, operator = str(overrider.get("component")), str(overrider.get("operator") or "")
        value = str(overrider.get("value") or "")
        targets: list[tuple[str, str]] = []
        predicate = overrider.get("predicate")
        try:
            if isinstance(predicate, dict):
                path = str(predicate.get("path", ""))
                if not path.startswith("/"):
                    raise ValueError("imagePath should be start with / character")
                targets.append((path, _image_value(ops.obj, path)))
            elif kind in _POD_SPEC:  # the default paths: containers only, never initContainers
                prefix = _POD_SPEC[kind]
                for number, container in enumerate(_containers(ops.obj, prefix)):
                    image = container.get("image") if isinstance(container, dict) else None
                    targets.append((f"{prefix}/containers/{number}/image", str(image or "")))
            batch = [
                PatchOp("replace", path, pointer, override_image(image, component, operator, value), True)
                for path, image in targets
            ]
        except (ValueError, ImageError) as exc:
            raise OverrideFailure(pointer, f"imageOverrider: {exc}") from None
        ops.apply(batch, pointer, "imageOverrider")


def _command_args(ops: _Ops, kind: str, target: str, overriders: Sequence[Any], base: str) -> None:
    prefix = _POD_SPEC.get(kind)
    for index, overrider in enumerate(overriders):
        pointer = f"{base}/{index}"
        if prefix is None:
            continue
        batch = []
        values = [str(v) for v in overrider.get("value") or []]
        for number, container in enumerate(_containers(ops.obj, prefix)):
            if not isinstance(container, dict) or container.get("name") != overrider.get("containerName"):
                continue
            path = f"{prefix}/containers/{number}/{target}"
            current = container.get(target)
            written = [str(v) for v in current] if isinstance(current, list) else []
            if overrider.get("operator") == "add":
                result = written + values
            elif overrider.get("operator") == "remove":
                result = [v for v in written if v not in values]
            else:
                result = written
            # A container without the field gets it added, even by ``remove`` (as an empty list).
            batch.append(PatchOp("add" if current is None else "replace", path, pointer, result, True))
        ops.apply(batch, pointer, f"{target}Overrider")


def _labels(ops: _Ops, field: str, overriders: Sequence[Any], base: str) -> None:
    for index, overrider in enumerate(overriders):
        pointer = f"{base}/{index}"
        operator = str(overrider.get("operator"))
        batch: list[PatchOp] = []
        metadata = ops.obj.get("metadata")
        present = metadata.get(field) if isinstance(metadata, dict) else None
        for key, value in sorted((overrider.get("value") or {}).items()):
            if operator in ("remove", "replace"):
                if not isinstance(present, dict) or key not in present:
                    continue  # absent keys are skipped, not errors
            elif operator == "add" and not isinstance(present, dict):
                if not isinstance(metadata, dict):
                    batch.append(PatchOp("add", "/metadata", pointer, {}, True))
                batch.append(PatchOp("add", f"/metadata/{field}", pointer, {}, True))
                present = {}
                metadata = metadata if isinstance(metadata, dict) else {}
            has_value = operator != "remove"
            path = f"/metadata/{field}/{escape(str(key))}"
            batch.append(PatchOp(operator, path, pointer, str(value) if has_value else None, has_value))
        if batch:
            ops.apply(batch, pointer, f"{field}Overrider")


class _GoYamlLoader(yaml.SafeLoader):
    """YAML as go-yaml v2 reads it into interface{}: plain scalars by its rules (``fanout.core.goyaml``:
    ``y`` is true, ``0o17`` is 15, ``1e3`` a float, timestamps stay strings), merge keys as YAML's."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode and implicit[0] and value != "<<":
            return _GO_PLAIN
        return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]


_GO_PLAIN = "tag:fanout.dev,2026:go-plain"


def _go_plain(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    return plain_value(loader.construct_scalar(node))


_GoYamlLoader.add_constructor(_GO_PLAIN, _go_plain)


def _sorted_keys(value: Any) -> Any:
    """A policy's value as the API server stored it: JSON objects with their keys sorted."""
    if isinstance(value, dict):
        return {k: _sorted_keys(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted_keys(v) for v in value]
    return value


def _field(ops: _Ops, overriders: Sequence[Any], base: str) -> None:
    for index, overrider in enumerate(overriders):
        pointer = f"{base}/{index}"
        path = str(overrider.get("fieldPath", ""))
        try:
            current = jsonpointer.resolve_pointer(ops.obj, path)
        except jsonpointer.JsonPointerException:
            raise OverrideFailure(pointer + "/fieldPath", f"fieldOverrider: {path} does not exist") from None
        if not isinstance(current, str):
            raise OverrideFailure(
                pointer + "/fieldPath", f"fieldOverrider: the value at {path} is not a string"
            )
        which = "yaml" if overrider.get("yaml") else "json" if overrider.get("json") else None
        result = ""  # neither yaml nor json: Karmada writes the empty string
        if which is not None:
            raw_ops = [
                {
                    "op": o.get("operator"),
                    "path": o.get("subPath"),
                    **({"value": _sorted_keys(o["value"])} if "value" in o else {}),
                }
                for o in overrider[which]
            ]
            try:
                if which == "yaml":
                    loaded = yaml.load(current, Loader=_GoYamlLoader)
                    patched = jsonpatch.JsonPatch(raw_ops).apply(json.loads(json.dumps(loaded)))
                    result = go_yaml(patched)
                else:
                    patched = jsonpatch.JsonPatch(raw_ops).apply(load_go_json(current))
                    result = go_json(patched)
            except (yaml.YAMLError, ValueError, TypeError) as exc:
                raise OverrideFailure(pointer, f"fieldOverrider: {exc}") from None
            except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
                raise OverrideFailure(
                    pointer + f"/{which}", f"fieldOverrider: {_reason(exc, raw_ops)}"
                ) from None
        ops.apply([PatchOp("replace", path, pointer, result, True)], pointer, "fieldOverrider")


def _plaintext(ops: _Ops, overriders: Sequence[Any], base: str) -> None:
    batch = []
    for index, overrider in enumerate(overriders):
        operator = str(overrider.get("operator"))
        has_value = operator != "remove" and "value" in overrider
        value = overrider.get("value") if has_value else None
        batch.append(PatchOp(operator, str(overrider.get("path")), f"{base}/{index}", value, has_value))
    if batch:
        ops.apply(batch, base, "plaintext")


def apply_overriders(
    obj: dict[str, Any], kind: str, overriders: Mapping[str, Any], base: str
) -> tuple[dict[str, Any], tuple[PatchOp, ...]]:
    """Run one rule's overriders on ``obj`` (which is changed); the result and the ops that made it."""
    ops = _Ops(obj)
    _images(ops, kind, overriders.get("imageOverrider") or [], f"{base}/imageOverrider")
    _command_args(ops, kind, "command", overriders.get("commandOverrider") or [], f"{base}/commandOverrider")
    _command_args(ops, kind, "args", overriders.get("argsOverrider") or [], f"{base}/argsOverrider")
    _labels(ops, "labels", overriders.get("labelsOverrider") or [], f"{base}/labelsOverrider")
    _labels(ops, "annotations", overriders.get("annotationsOverrider") or [], f"{base}/annotationsOverrider")
    _field(ops, overriders.get("fieldOverrider") or [], f"{base}/fieldOverrider")
    _plaintext(ops, overriders.get("plaintext") or [], f"{base}/plaintext")
    return ops.obj, tuple(ops.ops)


# Labels and annotations Karmada writes on resource templates for its own bookkeeping.
BOOKKEEPING = re.compile(
    r"^(karmada\.io/managed$|[a-z.]*karmada\.io/permanent-id$|(resourcetemplate|resourcebinding|"
    r"clusterresourcebinding|work|propagationpolicy|clusterpropagationpolicy)\.karmada\.io/)"
)

PRUNED = (
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "managedFields",
    "resourceVersion",
    "selfLink",
    "uid",
    "ownerReferences",
    "finalizers",
)


def prune_ops(obj: Mapping[str, Any], kind: str) -> list[PatchOp]:
    """``prune.RemoveIrrelevantFields`` with ``RemoveJobTTLSeconds``, as the Work is made."""
    metadata = as_map(obj.get("metadata"))
    paths = [f"/metadata/{name}" for name in PRUNED if name in metadata]
    if "status" in obj:
        paths.append("/status")
    annotations = as_map(metadata.get("annotations"))
    spec = as_map(obj.get("spec"))
    if kind == "Deployment":
        for name in ("deployment.kubernetes.io/revision", "deployment.kubernetes.io/revision-history"):
            if name in annotations:
                paths.append("/metadata/annotations/" + escape(name))
    if kind == "Service" and "clusterIP" in spec and spec["clusterIP"] != "None":
        paths += ["/spec/clusterIP"] + (["/spec/clusterIPs"] if "clusterIPs" in spec else [])
    if kind == "Job":
        if "ttlSecondsAfterFinished" in spec:
            paths.append("/spec/ttlSecondsAfterFinished")
        if not spec.get("manualSelector"):
            for base, names in (
                ("/spec/selector/matchLabels", ("controller-uid", "batch.kubernetes.io/controller-uid")),
                (
                    "/spec/template/metadata/labels",
                    (
                        "controller-uid",
                        "job-name",
                        "batch.kubernetes.io/controller-uid",
                        "batch.kubernetes.io/job-name",
                    ),
                ),
            ):
                node = dig(obj, base.strip("/").split("/"))
                if isinstance(node, dict):
                    paths += [f"{base}/{escape(n)}" for n in names if n in node]
    if kind == "PersistentVolumeClaim" and annotations.get("volume.kubernetes.io/selected-node"):
        paths.append("/metadata/annotations/volume.kubernetes.io~1selected-node")
    is_token = kind == "Secret" and obj.get("type") == "kubernetes.io/service-account-token"
    if is_token and "kubernetes.io/service-account.uid" in annotations:
        paths.append("/metadata/annotations/kubernetes.io~1service-account.uid")
    ops = [PatchOp("remove", path, "") for path in paths]
    if kind == "Secret" and obj.get("type") == "kubernetes.io/service-account-token":
        ops.append(PatchOp("add", "/data", "", None, True))  # SetNestedField(nil): data: null
    secrets = obj.get("secrets")
    if kind == "ServiceAccount" and isinstance(secrets, list) and secrets:
        # removeServiceAccountIrrelevantField removes while it walks forward, so the secret after each
        # removed token secret is not looked at; kept as Karmada does it.
        kept, index, prefix = list(secrets), 0, f"{metadata.get('name')}-token-"
        while index < len(kept):
            item = kept[index]
            if isinstance(item, dict) and str(item.get("name", "")).startswith(prefix):
                del kept[index]
            index += 1
        if kept != secrets:
            ops.append(PatchOp("replace", "/secrets", "", kept, True))
    return ops


def strip_bookkeeping(obj: dict[str, Any]) -> dict[str, Any]:
    """The template without Karmada's own labels and annotations (an object exported from a live Karmada
    carries them)."""
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        return obj
    changed = dict(metadata)
    for name in ("labels", "annotations"):
        values = metadata.get(name)
        if isinstance(values, dict) and any(BOOKKEEPING.match(str(k)) for k in values):
            kept = {k: v for k, v in values.items() if not BOOKKEEPING.match(str(k))}
            if kept:
                changed[name] = kept
            else:
                del changed[name]
    return {**obj, "metadata": changed} if changed != metadata else obj
