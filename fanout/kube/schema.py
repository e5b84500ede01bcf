"""Validate rendered objects against Kubernetes JSON Schemas, offline (CRDs: crdschema; messages: violations).

A ``KubernetesSchemas`` answers "is this object valid for Kubernetes X.Y?" for any number of objects.
It finds the schema for an object's apiVersion and kind in the first of these that has one:

1. the CustomResourceDefinitions it was given (the templates' own CRDs, served versions only);
2. the ``--schema-dir`` folders, in the order given (kubeconform file naming, see ``_schema_dir_names``);
3. the schemas bundled by the optional ``kubernetes-validate`` package for one Kubernetes minor version,
   in its plain or strict flavour.

Each schema file is read once and each (apiVersion, kind) gets one validator, built on first use and
kept on the instance, with the bundled definitions it refers to inlined (see ``_Inliner``). The
remaining ``$ref``s resolve through a ``referencing.Registry`` that holds the bundled definitions; the
only thing it may ever retrieve is a local file inside a ``--schema-dir``. Anything else
(``https://...``) fails closed: nothing is downloaded, ever.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import jsonschema
import jsonschema.exceptions
import jsonschema.validators
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource, Unresolvable
from referencing.jsonschema import DRAFT202012

from fanout.core.errors import FanoutError, Location, Problem
from fanout.kube.crdschema import DEFINITIONS_URI, CrdProblem, crd_schemas
from fanout.kube.violations import Violation, pointer_of, violations

# The newest minor that every kubernetes-validate allowed by fanout's `kubernetes` extra (>=1.31) bundles,
# so the default gives the same answer on every install; pass --kubernetes-version to match your clusters.
DEFAULT_KUBERNETES_VERSION = "1.31"
INSTALL_COMMAND = "pip install 'fanout-gitops[kubernetes]'"  # "fanout" on the package index is not this

_BUNDLE_DIR = re.compile(r"^v(\d+)\.(\d+)\.\d+-local(-strict)?$")
_VERSION_ARG = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?$")


class MissingSchema(Exception):
    """No schema is known for this apiVersion and kind; the caller decides (``--skip``, ignore, or fail)."""

    def __init__(self, api_version: str, kind: str, kubernetes_version: str, reason: str = "") -> None:
        self.api_version = api_version
        self.kind = kind
        self.kubernetes_version = kubernetes_version
        self.reason = reason  # set when the kind's CustomResourceDefinition is among the inputs but unusable
        super().__init__(f"no schema for {api_version} {kind} in Kubernetes {kubernetes_version}")


# --------------------------------------------------------------------------------------------------
# The bundled schemas


@dataclass(frozen=True)
class _Bundle:
    package_version: str
    folders: Mapping[str, Path]  # "1.31" -> .../v1.31.0-local ; "1.31-strict" -> .../v1.31.0-local-strict

    @property
    def versions(self) -> list[str]:
        minors = {key.removesuffix("-strict") for key in self.folders}
        return sorted(minors, key=lambda v: tuple(int(p) for p in v.split(".")))


def _find_bundle() -> _Bundle:
    # find_spec locates the package without importing it: fanout only needs its data files, and importing
    # it would pull in its own dependencies for nothing.
    spec = importlib.util.find_spec("kubernetes_validate")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise FanoutError.at(
            "Kubernetes schema validation needs the optional package kubernetes-validate; "
            f"install it with: {INSTALL_COMMAND}"
        )
    folders: dict[str, Path] = {}
    for location in locations:
        root = Path(location) / "kubernetes-json-schema"
        if not root.is_dir():
            continue
        for child in sorted(root.iterdir()):
            match = _BUNDLE_DIR.match(child.name)
            if match and child.is_dir():
                key = f"{match[1]}.{match[2]}" + ("-strict" if match[3] else "")
                folders.setdefault(key, child)
    if not folders:
        raise FanoutError.at(
            f"the installed kubernetes-validate bundles no schemas; reinstall it with: {INSTALL_COMMAND}"
        )
    try:
        package_version = importlib.metadata.version("kubernetes-validate")
    except importlib.metadata.PackageNotFoundError:
        package_version = "(unknown version)"
    return _Bundle(package_version, folders)


def supported_versions() -> list[str]:
    """The Kubernetes minor versions (``"1.25"``, ...) the installed kubernetes-validate bundles."""
    return _find_bundle().versions


def _pick_version(requested: str, bundle: _Bundle) -> str:
    match = _VERSION_ARG.match(requested.strip())
    minor = f"{int(match[1])}.{int(match[2])}" if match else None
    if minor is None or minor not in bundle.versions:
        raise FanoutError.at(
            f"Kubernetes version {requested!r} is not supported: kubernetes-validate "
            f"{bundle.package_version} bundles {', '.join(bundle.versions)}"
        )
    return minor


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise FanoutError.at(
            f"not valid JSON: {exc.msg}", Location(str(path), exc.lineno, exc.colno)
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FanoutError.at(f"cannot read schema: {exc}", Location(str(path))) from None


# --------------------------------------------------------------------------------------------------
# --schema-dir


def _schema_dir_names(api_version: str, kind: str) -> list[str]:
    """File names to try in a --schema-dir, most specific first.

    kubeconform's ``{kind}-{group}-{version}.json`` (its group is the first label, ``stable`` for
    ``stable.example.com``; the full group is accepted too), ``{kind}-{version}.json`` for the core group,
    the CRDs-catalog layout ``{group}/{kind}_{version}.json`` and plain ``{kind}_{version}.json``.
    """
    group, _, version = api_version.rpartition("/")
    kind = kind.lower()
    if not group:
        return [f"{kind}-{version}.json", f"{kind}_{version}.json"]
    group = group.lower()
    first_label = group.split(".")[0]
    names = [f"{group}/{kind}_{version}.json", f"{kind}-{group}-{version}.json"]
    if first_label != group:
        names.append(f"{kind}-{first_label}-{version}.json")
    names.append(f"{kind}_{version}.json")
    return names


def _file_uri_to_path(uri: str) -> Path | None:
    parts = urlsplit(uri)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return None
    return Path(url2pathname(unquote(parts.path)))


class _LocalRetriever:
    """Retrieves referenced schemas from files inside the --schema-dir folders, and from nowhere else."""

    def __init__(self, roots: Sequence[Path]) -> None:
        self._roots = tuple(roots)
        # The registry is immutable, so jsonschema would retrieve again on every validation: read once.
        self._cache: dict[str, Resource[Any]] = {}

    def __call__(self, uri: str) -> Resource[Any]:
        if uri in self._cache:
            return self._cache[uri]
        path = _file_uri_to_path(uri)
        if (
            path is None
            or not path.is_file()
            or not any(path.resolve().is_relative_to(r) for r in self._roots)
        ):
            raise NoSuchResource(uri)
        resource = Resource.from_contents(_read_json(path), default_specification=DRAFT202012)
        self._cache[uri] = resource
        return resource


# --------------------------------------------------------------------------------------------------
# Inlining the bundled definitions


_DEFINITION_PREFIXES = ("/api/_definitions.json#/$defs/", "#/$defs/", DEFINITIONS_URI + "#/$defs/")


class _Inliner:
    """Replaces ``$ref``s to the bundled definitions by the definitions themselves.

    Resolving a ``$ref`` is most of jsonschema's work on these schemas; a schema without them validates
    about twice as fast. Definitions that refer to themselves (JSONSchemaProps) keep an absolute ``$ref``,
    which the registry resolves. Expanded definitions are shared between kinds, never copied or mutated.
    """

    def __init__(self, definitions: Mapping[str, Any]) -> None:
        self._definitions = definitions
        self._expanded: dict[str, Any] = {}
        self._expanding: set[str] = set()

    def _name(self, ref: str) -> str | None:
        for prefix in _DEFINITION_PREFIXES:
            if ref.startswith(prefix) and ref[len(prefix) :] in self._definitions:
                return ref[len(prefix) :]
        return None

    def _definition(self, name: str) -> Any | None:
        if name not in self._expanded:
            if name in self._expanding:
                return None  # a cycle: leave this reference as a reference
            self._expanding.add(name)
            self._expanded[name] = self.inline(self._definitions[name])
            self._expanding.discard(name)
        return self._expanded[name]

    def inline(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.inline(item) for item in node]
        if not isinstance(node, Mapping):
            return node
        ref = node.get("$ref")
        name = self._name(ref) if isinstance(ref, str) else None
        if name is None:
            return {key: self.inline(value) for key, value in node.items()}
        rest = {key: self.inline(value) for key, value in node.items() if key not in ("$ref", "description")}
        target = self._definition(name)
        if target is None:
            return {**rest, "$ref": f"{DEFINITIONS_URI}#/$defs/{name}"}
        return {**rest, "allOf": [*rest.get("allOf", []), target]} if rest else target


# --------------------------------------------------------------------------------------------------
# The validator


class KubernetesSchemas:
    """The schemas for one Kubernetes version and flavour, plus CRDs and --schema-dir folders.

    ``version`` is a minor version such as ``"1.31"`` (``"v1.31"`` and ``"1.31.4"`` are accepted);
    ``crds`` may hold any objects, only ``CustomResourceDefinition``s are used.
    """

    def __init__(
        self,
        version: str | None = None,
        *,
        strict: bool = False,
        schema_dirs: Sequence[Path] = (),
        crds: Iterable[Mapping[str, Any]] = (),
    ) -> None:
        bundle = _find_bundle()
        self.version = _pick_version(version or DEFAULT_KUBERNETES_VERSION, bundle)
        self.strict = strict
        folder = bundle.folders.get(self.version + ("-strict" if strict else ""))
        if folder is None:
            raise FanoutError.at(
                f"kubernetes-validate {bundle.package_version} has no "
                f"{'strict' if strict else 'plain'} schemas for Kubernetes {self.version}"
            )
        self._folder = folder
        problems = [
            Problem(f"--schema-dir {d}: not a directory") for d in schema_dirs if not Path(d).is_dir()
        ]
        if problems:
            raise FanoutError(problems)
        self._schema_dirs = tuple(Path(d).resolve() for d in schema_dirs)
        self._crds: dict[tuple[str, str], dict[str, Any]] = {}
        self._rejected: dict[tuple[str, str], str] = {}
        self.crd_problems: list[CrdProblem] = []
        self._registry: Registry[Any] | None = None
        self._inliner: _Inliner | None = None
        self._validators: dict[tuple[str, str], Validator | None] = {}
        self.use_crds(list(crds))

    def use_crds(self, crds: Sequence[Mapping[str, Any]]) -> list[CrdProblem]:
        """Validate custom resources against these CRDs' schemas; returns (and keeps) what is wrong with them.

        The kinds of a CRD that cannot be used get no schema, with the reason (``MissingSchema.reason``)."""
        found, problems, rejected = crd_schemas(crds, strict=self.strict)
        self._crds.update(found)
        self._rejected.update(rejected)
        self.crd_problems.extend(problems)
        self._validators.clear()
        return problems

    def reject_crd(self, crd: Mapping[str, Any]) -> None:
        """A CRD of the wrong shape: the kinds it names get no schema, with why."""

        def mapping(value: Any) -> Mapping[str, Any]:
            return value if isinstance(value, Mapping) else {}

        spec = mapping(crd.get("spec"))
        group, versions = spec.get("group"), spec.get("versions")
        kind = mapping(spec.get("names")).get("kind")
        metadata = mapping(crd.get("metadata"))
        why = f"its CustomResourceDefinition {metadata.get('name', '')} is invalid, so it is not validated"
        if isinstance(group, str) and isinstance(kind, str) and isinstance(versions, list):
            for version in versions:
                if isinstance(version, Mapping) and isinstance(version.get("name"), str):
                    self._rejected.setdefault((f"{group}/{version['name']}", kind), why)
        self._validators.clear()

    def validate(self, obj: Mapping[str, Any]) -> list[Violation]:
        """Every violation in ``obj``, sorted by pointer; raises ``MissingSchema`` when there is no schema."""
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str) or not api_version or not kind:
            return sorted(
                Violation("", f'missing required field "{field}"')
                for field, value in (("apiVersion", api_version), ("kind", kind))
                if not isinstance(value, str) or not value
            )
        validator = self._validator_for(api_version, kind)
        try:
            errors = list(validator.iter_errors(obj))
        except Unresolvable as exc:
            raise FanoutError.at(
                f"the schema for {api_version} {kind} refers to {exc.ref!r}, which fanout cannot resolve: "
                "it never downloads schemas; put referenced files in a --schema-dir"
            ) from None
        return sorted(set(violations(errors)))

    def has_schema(self, api_version: str, kind: str) -> bool:
        try:
            self._validator_for(api_version, kind)
        except MissingSchema:
            return False
        return True

    # -- internals ---------------------------------------------------------------------------------

    def _validator_for(self, api_version: str, kind: str) -> Validator:
        key = (api_version, kind)
        if key not in self._validators:
            self._validators[key] = self._build(api_version, kind)
        validator = self._validators[key]
        if validator is None:
            raise MissingSchema(api_version, kind, self.version, self._rejected.get(key, ""))
        return validator

    def _base_registry(self) -> Registry[Any]:
        if self._registry is None:
            definitions = _read_json(self._folder / "_definitions.json")
            # `retrieve` is an attrs alias of a private field, which mypy's attrs support does not see.
            retriever = _LocalRetriever(self._schema_dirs)
            registry: Registry[Any] = Registry(retrieve=retriever)  # type: ignore[call-arg]
            self._registry = registry.with_resource(DEFINITIONS_URI, Resource.from_contents(definitions))
            self._inliner = _Inliner(definitions.get("$defs", {}))
        return self._registry

    def _build(self, api_version: str, kind: str) -> Validator | None:
        crd_schema = self._crds.get((api_version, kind))
        if (api_version, kind) in self._rejected and crd_schema is None:
            return None
        if crd_schema is not None:
            registry = self._base_registry()
            assert self._inliner is not None  # set with the registry
            return jsonschema.Draft202012Validator(self._inliner.inline(crd_schema), registry=registry)
        for folder in self._schema_dirs:
            for name in _schema_dir_names(api_version, kind):
                path = folder / name
                if path.is_file():
                    return self._from_schema_dir(path)
        return self._from_bundle(api_version, kind)

    def _from_schema_dir(self, path: Path) -> Validator:
        schema = _read_json(path)
        if not isinstance(schema, Mapping):
            raise FanoutError.at("a schema must be a JSON object", Location(str(path)))
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        try:
            cls.check_schema(dict(schema))
        except jsonschema.exceptions.SchemaError as exc:
            pointer = pointer_of(exc.absolute_path) or "/"
            raise FanoutError.at(
                f"invalid JSON Schema at {pointer}: {exc.message}", Location(str(path))
            ) from None
        # Relative $refs (kubeconform's non-standalone schemas) resolve against the file itself.
        id_keyword = "id" if cls in (jsonschema.Draft3Validator, jsonschema.Draft4Validator) else "$id"
        if id_keyword not in schema:
            schema = {**schema, id_keyword: path.as_uri()}
        return cls(schema, registry=self._base_registry())

    def _from_bundle(self, api_version: str, kind: str) -> Validator | None:
        group, _, version = api_version.rpartition("/")
        # kubernetes-validate names files after the group's first label: rbac.authorization.k8s.io -> rbac.
        stem = f"{kind.lower()}-{group.split('.')[0]}-{version}" if group else f"{kind.lower()}-{version}"
        path = self._folder / f"{stem}.json"
        if "/" in stem or not path.is_file():
            return None
        schema = _read_json(path)
        # The first-label naming is ambiguous (apps.example.com/v1 Deployment would find apps/v1's file),
        # so accept the file only when it declares exactly this group, version and kind.
        declared = schema.get("x-kubernetes-group-version-kind") if isinstance(schema, Mapping) else None
        wanted = {"group": group, "version": version, "kind": kind}
        if not isinstance(declared, list) or wanted not in declared:
            return None
        registry = self._base_registry()
        assert self._inliner is not None  # set with the registry
        return jsonschema.Draft202012Validator(self._inliner.inline(schema), registry=registry)
