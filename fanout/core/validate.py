"""Stage 3, validate: every input document against its JSON Schema, every problem located."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from fanout.core.document import Document, escape
from fanout.core.errors import Problem, Problems
from fanout.core.images import expression_error
from fanout.core.limits import from_config
from fanout.core.model import (
    IDENTITY_PATHS,
    Cluster,
    Config,
    KindScope,
    Override,
    Patch,
    PatchOp,
    ResourceRef,
)
from fanout.core.schemas import validator
from fanout.core.selectors import Selector, SelectorSyntaxError, from_label_selector
from fanout.core.substitute import Scan

if TYPE_CHECKING:
    from jsonschema import ValidationError


def _leaf_errors(errors: Iterable[ValidationError]) -> Iterable[ValidationError]:
    """For anyOf/oneOf failures, report the branches' own errors: they say what to fix."""
    for error in errors:
        if error.context and error.validator in ("anyOf", "oneOf"):
            # The branch errors overlap; the deepest ones are the most specific.
            deepest = max(len(e.absolute_path) for e in error.context)
            if deepest > len(error.absolute_path):
                yield from _leaf_errors(e for e in error.context if len(e.absolute_path) == deepest)
                continue
        yield error


def _schema(error: ValidationError) -> Mapping[str, Any]:
    return error.schema if isinstance(error.schema, Mapping) else {}


def _message(error: ValidationError) -> str:
    schema = _schema(error)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = schema.get("properties", {})
        unknown = sorted(k for k in error.instance if k not in allowed)
        if unknown:
            return f"unknown field {unknown[0]!r}" + (
                f" (allowed: {', '.join(sorted(allowed))})" if allowed else ""
            )
    if error.validator == "required":
        return error.message.replace("is a required property", "is required")
    if error.validator == "type" and error.instance is None and error.absolute_path:
        # A key written with nothing after it (`overriders:` above a comment): YAML reads null, and
        # "None is not of type 'object'" names neither the key nor the fix.
        key = error.absolute_path[-1]
        name = f"item {key}" if isinstance(key, int) else str(key)
        wanted = error.validator_value if isinstance(error.validator_value, str) else "value"
        return f"{name} is empty: expected {_article(wanted)}"
    comment = schema.get("$comment")
    if error.validator in ("pattern", "not") and isinstance(comment, str):
        # People read "templates must be a relative folder inside the source root", not a regex.
        if comment.startswith("must") and error.absolute_path:
            return f"{error.absolute_path[-1]} {comment}, not {error.instance!r}"
        return f"{error.instance!r} {comment}"
    return error.message


def _article(kind: str) -> str:
    return {"object": "a map", "array": "a list", "integer": "an integer"}.get(kind, f"a {kind}")


def _pointer(error: ValidationError) -> str:
    parts = [escape(str(p)) for p in error.absolute_path]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = _schema(error).get("properties", {})
        unknown = sorted(k for k in error.instance if k not in allowed)
        if unknown:
            parts.append(escape(unknown[0]))  # point at the unknown field itself
    return "".join("/" + p for p in parts)


def check(document: Document, schema: str) -> list[Problem]:
    """Problems of ``document`` against ``schemas/<schema>.schema.json``."""
    if schema in document.valid_for:
        return []
    errors = validator(schema).iter_errors(document.data)
    problems = []
    for error in _leaf_errors(errors):
        what = _pointer(error)
        named = error.validator in ("not", "pattern") and str(_schema(error).get("$comment", "")).startswith(
            "must"
        )
        where = f" at {what}" if what and error.validator != "additionalProperties" and not named else ""
        problems.append(Problem(f"{_message(error)}{where}", document.location(what)))
    if not problems:
        document.valid_for.add(schema)
    return problems


# --- from checked documents to the model -------------------------------------------------

FANOUT_API = "fanout.dev/v1alpha1"
KUBEFED_TYPES_API = "types.kubefed.io/v1beta1"
KUBEFED_CORE_API = "core.kubefed.io/v1beta1"
# Cluster registrations of KubeFed (and its 0.1.0 release candidates), Federation v1 and the Cluster Registry.
FOREIGN_CLUSTERS = frozenset(
    {
        (KUBEFED_CORE_API, "KubeFedCluster"),
        ("core.kubefed.k8s.io/v1beta1", "KubeFedCluster"),
        ("core.federation.k8s.io/v1alpha1", "FederatedCluster"),
        ("federation/v1beta1", "Cluster"),
        ("clusterregistry.k8s.io/v1alpha1", "Cluster"),
    }
)
KARMADA_CLUSTER_API = "cluster.karmada.io/v1alpha1"
ANNOTATION_PREFIX = "fanout.dev/"
PLACEMENT_ANNOTATION = "fanout.dev/placement"
CLUSTERS_ANNOTATION = "fanout.dev/clusters"
PROTECTED_PATHS = IDENTITY_PATHS

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def is_dns_label(name: str) -> bool:
    return len(name) <= 63 and bool(_DNS_LABEL.match(name))


def is_dns_subdomain(name: str) -> bool:
    return len(name) <= 253 and bool(_DNS_SUBDOMAIN.match(name))


# Roles and bindings take any path segment as a name (``system:metrics-server``): kubernetes/kubernetes
# pkg/apis/rbac/validation/validation.go (ValidateRBACName, commit df11db1c0f08fab3c0baee1e5ce6efbf816af7f1)
# calls apimachinery's path.IsValidPathSegmentName; every other kind a DNS-1123 subdomain.
RBAC_GROUP = "rbac.authorization.k8s.io"
RBAC_KINDS = frozenset({"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})


def is_path_segment_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and "/" not in name and "%" not in name


def name_problem(group: str, kind: str, name: str) -> str | None:
    """Why ``name`` cannot name an object of ``kind`` in ``group`` (the API server's rule), or None."""
    if group == RBAC_GROUP and kind in RBAC_KINDS:
        if is_path_segment_name(name):
            return None
        return f"{kind} name {name!r} must not be empty, '.' or '..', nor hold '/' or '%'"
    if is_dns_subdomain(name):
        return None
    return f"object name {name!r} is not a DNS-1123 subdomain (lowercase letters, digits, '-' and '.')"


def did_you_mean(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _kind_of(doc: Document) -> tuple[str, str]:
    data = doc.data
    if not isinstance(data, dict):
        return "", ""
    return str(data.get("apiVersion", "")), str(data.get("kind", ""))


def not_a_mapping(doc: Document, problems: Problems) -> bool:
    if isinstance(doc.data, dict):
        return False
    problems.add(
        f"expected a mapping (a Kubernetes-style object), found {type(doc.data).__name__}", doc.location()
    )
    return True


def build_config(doc: Document | None, problems: Problems) -> Config:
    if doc is None:
        return Config()
    found = check(doc, "config")
    problems.extend(found)
    if found or not isinstance(doc.data, dict):
        return Config()
    data = doc.data
    return Config(
        clusters=data.get("clusters", "clusters").strip("/"),
        templates=data.get("templates", "templates").strip("/"),
        overrides=data.get("overrides", "overrides").strip("/"),
        output=data.get("output", "rendered").strip("/"),
        charts=data.get("charts", "charts").strip("/"),
        namespace_placement=data.get("namespacePlacement"),
        format=data.get("format"),
        default_namespace=data.get("defaultNamespace"),
        limits=from_config(data.get("limits")),
        strategic_merge=data.get("strategicMerge", "kustomize"),
        karmada_skipped_namespaces=_namespace_patterns(doc, problems),
        karmada_empty_workloads=bool(
            (data.get("karmada") or {}).get("enableEmptyWorkloadPropagation", False)
        ),
        scopes=tuple(
            KindScope(group, kind, scope == "Namespaced", doc.location(f"/scopes/{escape(key)}"))
            for key, scope in sorted((data.get("scopes") or {}).items())
            for kind, _, group in [key.partition(".")]
        ),
    )


def _namespace_patterns(doc: Document, problems: Problems) -> tuple[str, ...]:
    written = (doc.data.get("karmada") or {}).get("skippedPropagatingNamespaces")
    if written is None:
        return Config.karmada_skipped_namespaces
    for index, pattern in enumerate(written):
        try:
            re.compile(pattern)
        except re.error as exc:
            problems.add(
                f"invalid regular expression {pattern!r}: {exc}",
                doc.location(f"/karmada/skippedPropagatingNamespaces/{index}"),
            )
    return tuple(written)


def build_clusters(docs: Iterable[Document], problems: Problems) -> tuple[Cluster, ...]:
    clusters: dict[str, Cluster] = {}
    for doc in docs:
        if not_a_mapping(doc, problems):
            continue
        api, kind = _kind_of(doc)
        # The federation systems' cluster registrations are accepted as they are: name and labels are read.
        foreign = (api, kind) in FOREIGN_CLUSTERS
        karmada = (api, kind) == (KARMADA_CLUSTER_API, "Cluster")
        if (api, kind) != (FANOUT_API, "Cluster") and not foreign and not karmada:
            problems.add(
                f"expected apiVersion {FANOUT_API}, kind Cluster here (or a Karmada Cluster, a"
                f" KubeFedCluster, a Federation v1 or Cluster Registry Cluster), found {api or '?'}"
                f" {kind or '?'}",
                doc.location(),
            )
            continue
        found = check(doc, "karmadacluster" if karmada else "foreigncluster" if foreign else "cluster")
        if found:
            problems.extend(found)
            continue
        name = doc.data["metadata"]["name"]
        if name in clusters:
            first = clusters[name].doc.location("/metadata/name")
            problems.add(
                f"cluster {name!r} is defined twice (first at {first})", doc.location("/metadata/name")
            )
            continue
        clusters[name] = Cluster(
            name=name,
            labels=dict(doc.data["metadata"].get("labels") or {}),
            values={} if foreign or karmada else dict((doc.data.get("spec") or {}).get("values") or {}),
            doc=doc,
            facts=karmada_facts(doc.data) if karmada else {},
        )
    return tuple(sorted(clusters.values(), key=lambda c: c.name))


def karmada_facts(data: Mapping[str, Any]) -> dict[str, Any]:
    """What Karmada's scheduler reads of a member Cluster; endpoints, secrets and the rest of the status are
    never kept. ``spec.zone`` becomes ``zones`` when that is empty (pkg/apis/cluster/mutation/mutation.go);
    without ``status.apiEnablements`` every API is assumed enabled."""
    spec = data.get("spec") or {}
    zones = list(spec.get("zones") or ([spec["zone"]] if spec.get("zone") else []))
    facts: dict[str, Any] = {
        "provider": spec.get("provider", ""),
        "region": spec.get("region", ""),
        "zones": tuple(zones),
        "taints": tuple(dict(t) for t in spec.get("taints") or ()),
    }
    status = data.get("status")
    if isinstance(status, dict) and "apiEnablements" in status:
        facts["apis"] = tuple(
            sorted(
                {
                    (str(entry.get("groupVersion")), str(resource.get("kind")))
                    for entry in status.get("apiEnablements") or ()
                    for resource in entry.get("resources") or ()
                }
            )
        )
    return facts


def check_names(names: Iterable[tuple[str, str]], known: set[str], doc: Document, problems: Problems) -> None:
    """Each (name, pointer) must be a known cluster."""
    for name, pointer in names:
        if name not in known:
            problems.add(f"unknown cluster {name!r}{did_you_mean(name, known)}", doc.location(pointer))


def make_selector(
    data: Mapping[str, Any], doc: Document, pointer: str, problems: Problems
) -> Selector | None:
    try:
        return from_label_selector(data)
    except SelectorSyntaxError as exc:
        problems.add(f"invalid selector: {exc}", doc.location(pointer))
        return None


def make_ops(raw_ops: list[dict[str, Any]], base: str, default_op: str) -> tuple[PatchOp, ...]:
    ops = []
    for index, raw in enumerate(raw_ops):
        ops.append(
            PatchOp(
                op=raw.get("op", default_op),
                path=raw["path"],
                pointer=f"{base}/{index}",
                value=raw.get("value"),
                has_value="value" in raw,
                from_=raw.get("from"),
            )
        )
    return tuple(ops)


def check_ops(ops: Iterable[PatchOp], doc: Document, problems: Problems) -> None:
    for op in ops:
        if op.op in ("add", "replace", "test") and not op.has_value:
            problems.add(f"{op.op} {op.path}: a value is required", doc.location(op.pointer))
        if op.op in ("move", "copy") and op.from_ is None:
            problems.add(f"{op.op} {op.path}: 'from' is required", doc.location(op.pointer))
        for protected in PROTECTED_PATHS:
            if op.path == protected or op.path.startswith(protected + "/"):
                problems.add(
                    f"overrides may not change {protected} (it identifies the object)",
                    doc.location(op.pointer + "/path"),
                )


def make_patch(
    key: str,
    label: str,
    doc: Document,
    ops: tuple[PatchOp, ...],
    merge: Any,
    merge_pointer: str | None,
    strategic: Any = None,
    config: Config | None = None,
    custom: Mapping[tuple[str, str], Mapping[str, Any]] | None = None,
    targeted: bool = False,
    images: Any = None,
) -> Patch:
    scan = Scan()
    for op in ops:
        if op.has_value:
            scan.walk(op.value, op.pointer + "/value")
    if merge is not None and merge_pointer is not None:
        scan.walk(merge, merge_pointer)
    strategic_pointer = "/spec/strategic" if strategic is not None else None
    if strategic is not None:
        scan.walk(strategic, "/spec/strategic")
    if images is not None:
        scan.walk(images, "/spec/images")
    return Patch(
        key,
        label,
        doc,
        ops,
        merge,
        merge_pointer,
        scan.refs,
        scan.escapes,
        scan.uses,
        strategic=strategic,
        strategic_pointer=strategic_pointer,
        strategic_mode=(config or Config()).strategic_merge,
        custom=custom or {},
        targeted=targeted and strategic is not None,
        images=images,
        images_pointer="/spec/images" if images is not None else None,
    )


# What an Override with images: and no resources: reaches.
EVERY_OBJECT = ResourceRef("*", "*", None, None)


def _target_of(strategic: Any, doc: Document, problems: Problems) -> ResourceRef | None:
    """The object a strategic patch without ``resources:`` names, as a kustomize patch does."""
    metadata = strategic.get("metadata") if isinstance(strategic, dict) else None
    api_version, kind = strategic.get("apiVersion"), strategic.get("kind")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
    if not all(isinstance(v, str) and v for v in (api_version, kind, name)) or not (
        namespace is None or isinstance(namespace, str)
    ):
        problems.add(
            "a strategic patch without resources: names its target with apiVersion, kind and metadata.name"
            " (or add resources:)",
            doc.location("/spec/strategic"),
        )
        return None
    return ResourceRef(str(kind), str(name), namespace, str(api_version))


def build_overrides(
    docs: Iterable[Document],
    known: set[str],
    problems: Problems,
    config: Config | None = None,
    custom: Mapping[tuple[str, str], Mapping[str, Any]] | None = None,
) -> tuple[Override, ...]:
    overrides = []
    for doc in docs:
        if not_a_mapping(doc, problems):
            continue
        api, kind = _kind_of(doc)
        if (api, kind) != (FANOUT_API, "Override"):
            problems.add(
                f"expected apiVersion {FANOUT_API}, kind Override here, found {api or '?'} {kind or '?'}",
                doc.location(),
            )
            continue
        found = check(doc, "override")
        if found:
            problems.extend(found)
            continue
        spec = doc.data["spec"]
        names = tuple(spec["clusters"].get("names") or ())
        check_names(((n, f"/spec/clusters/names/{i}") for i, n in enumerate(names)), known, doc, problems)
        selector = None
        if "clusterSelector" in spec["clusters"]:
            selector = make_selector(
                spec["clusters"]["clusterSelector"], doc, "/spec/clusters/clusterSelector", problems
            )
        if "strategic" in spec and ("patch" in spec or "merge" in spec):
            other = "patch" if "patch" in spec else "merge"
            problems.add(
                f"strategic and {other} cannot be used in one Override"
                " (write another Override for the other)",
                doc.location("/spec/strategic"),
            )
            continue
        if "images" in spec and ("patch" in spec or "merge" in spec or "strategic" in spec):
            other = next(k for k in ("patch", "merge", "strategic") if k in spec)
            problems.add(
                f"images and {other} cannot be used in one Override (write another Override for the other;"
                " kustomize applies images: after the patches of a kustomization: give it a higher priority)",
                doc.location("/spec/images"),
            )
            continue
        for index, entry in enumerate(spec.get("images") or ()):
            why = expression_error(entry["name"])
            if why is not None:
                problems.add(
                    f"images: kustomize reads name as a regular expression, and this one is not ({why});"
                    " escape what it holds, such as [ or (, with a backslash",
                    doc.location(f"/spec/images/{index}/name"),
                )
        ops = make_ops(spec.get("patch") or [], "/spec/patch", "replace")  # the schema requires op here
        check_ops(ops, doc, problems)
        name = doc.data["metadata"]["name"]
        patch = make_patch(
            doc.label,
            f"{doc.label} ({name})",
            doc,
            ops,
            spec.get("merge"),
            "/spec/merge" if "merge" in spec else None,
            spec.get("strategic"),
            config,
            custom,
            targeted="resources" in spec,
            images=spec.get("images"),
        )
        if "resources" in spec:
            resources = tuple(
                ResourceRef(r["kind"], r["name"], r.get("namespace"), r.get("apiVersion"))
                for r in spec["resources"]
            )
        elif "strategic" in spec:
            target = _target_of(spec["strategic"], doc, problems)
            if target is None:
                continue
            resources = (target,)
        elif "images" in spec:
            resources = (EVERY_OBJECT,)  # as kustomize's images: reach every object of the kustomization
        else:
            problems.add(
                "resources is required (only a strategic patch names its own target, and images reach every"
                " object)",
                doc.location("/spec"),
            )
            continue
        overrides.append(Override(doc, name, names, selector, resources, int(spec.get("priority", 0)), patch))
    return tuple(overrides)
