"""Karmada's own algorithms, as its code runs them, for the Karmada front end (``fanout.formats.karmada``).

Pure functions over plain data. Each names the Karmada file it follows; all at karmada-io/karmada commit
f8fdd02df3760fd9521624f284877fa84e7be6ef (v1.19.0-rc.0-18), which docs/coming-from-karmada.md cites.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from fanout.core.selectors import Requirement, Selector, SelectorSyntaxError, from_label_selector


def as_map(value: Any) -> dict[str, Any]:
    """``value`` if it is a mapping, else an empty one (for reading fields of schema-checked objects)."""
    return value if isinstance(value, dict) else {}


# --- which policy claims a resource (pkg/util/selector.go, pkg/detector/compare.go) -----------------

PRIORITY_MISMATCH, PRIORITY_ALL, PRIORITY_LABELS, PRIORITY_NAME = 0, 1, 2, 3
PRIORITY_WORDS = {PRIORITY_ALL: "kind", PRIORITY_LABELS: "labelSelector", PRIORITY_NAME: "name"}


_NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _label_key(key: str) -> bool:
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _PREFIX.match(prefix)):
        return False
    return len(name) <= 63 and bool(_NAME_PART.match(name))


def label_selector(data: Any) -> Selector:
    """``metav1.LabelSelectorAsSelector``: a key or value Kubernetes would refuse is an error."""
    if not isinstance(data, dict):
        raise SelectorSyntaxError("not a label selector")
    selector = from_label_selector(data)
    for requirement in selector.requirements:
        if not _label_key(requirement.key):
            raise SelectorSyntaxError(f"invalid label key {requirement.key!r}")
        for value in requirement.values:
            if value and (len(value) > 63 or not _NAME_PART.match(value)):
                raise SelectorSyntaxError(f"invalid label value {value!r}")
    return selector


def selector_priority(
    api: str, kind: str, namespace: str, name: str, labels: Mapping[str, str], rs: Mapping[str, Any]
) -> int:
    """``util.ResourceSelectorPriority``: a name match ignores the labelSelector; a bad selector misses."""
    if api != rs.get("apiVersion") or kind != rs.get("kind"):
        return PRIORITY_MISMATCH
    if rs.get("namespace") and namespace != rs.get("namespace"):
        return PRIORITY_MISMATCH
    if rs.get("name"):
        return PRIORITY_NAME if rs["name"] == name else PRIORITY_MISMATCH
    if rs.get("labelSelector") is None:
        return PRIORITY_ALL
    try:
        selector = label_selector(rs["labelSelector"])
    except (SelectorSyntaxError, KeyError, TypeError):
        return PRIORITY_MISMATCH
    return PRIORITY_LABELS if selector.matches(labels) else PRIORITY_MISMATCH


def best_priority(
    api: str, kind: str, namespace: str, name: str, labels: Mapping[str, str], selectors: Sequence[Any]
) -> int:
    """``util.ResourceMatchSelectorsPriority``: the highest of its selectors."""
    return max(
        (
            selector_priority(api, kind, namespace, name, labels, rs)
            for rs in selectors
            if isinstance(rs, dict)
        ),
        default=PRIORITY_MISMATCH,
    )


# --- clusters (pkg/util/selector.go ClusterMatches, the TaintToleration filter) ---------------------


class ClusterFacts(NamedTuple):
    """What Karmada's placement reads of a member ``Cluster``."""

    name: str
    labels: Mapping[str, str]
    provider: str
    region: str
    zones: tuple[str, ...]
    taints: tuple[Mapping[str, Any], ...]
    apis: frozenset[tuple[str, str]] | None  # (groupVersion, kind); None: no status, every API assumed


def _zones_match(expression: Mapping[str, Any], zones: Sequence[str]) -> bool:
    """``matchZones``: a zone requirement against the cluster's list of zones."""
    values = [str(v) for v in expression.get("values") or []]
    operator = expression.get("operator")
    if operator == "In":
        return any(zone in values for zone in zones)
    if operator == "NotIn":
        return not any(zone in values for zone in zones)
    if operator == "Exists":
        return bool(zones)
    if operator == "DoesNotExist":
        return not zones
    return False


def _field_requirements(expressions: Sequence[Mapping[str, Any]]) -> Selector | None:
    """``NodeSelectorRequirementsAsSelector``; None when one is malformed (then nothing matches)."""
    requirements = []
    for expression in expressions:
        operator = expression.get("operator")
        values = tuple(str(v) for v in expression.get("values") or [])
        if operator in ("In", "NotIn") and not values:
            return None
        if operator in ("Exists", "DoesNotExist") and values:
            return None
        if operator in ("Gt", "Lt"):
            if len(values) != 1 or not re.fullmatch(r"[-+]?[0-9]+", values[0]):
                return None
        elif operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return None
        key = str(expression.get("key") or "")
        if not _label_key(key):
            return None
        requirements.append(Requirement(key, str(operator), values))
    return Selector(tuple(requirements))


def cluster_matches(cluster: ClusterFacts, affinity: Mapping[str, Any]) -> bool:
    """``util.ClusterMatches``: exclude first, then labelSelector, fieldSelector, then clusterNames."""
    if cluster.name in (affinity.get("exclude") or []):
        return False
    if affinity.get("labelSelector") is not None:
        try:
            if not label_selector(affinity["labelSelector"]).matches(cluster.labels):
                return False
        except (SelectorSyntaxError, KeyError, TypeError):
            return False
    field_selector = affinity.get("fieldSelector")
    if isinstance(field_selector, dict):
        others = []
        for expression in field_selector.get("matchExpressions") or []:
            if expression.get("key") == "zone":
                if not _zones_match(expression, cluster.zones):
                    return False
            else:
                others.append(expression)
        if others:
            selector = _field_requirements(others)
            fields = {k: v for k, v in (("provider", cluster.provider), ("region", cluster.region)) if v}
            if selector is None or not selector.matches(fields):
                return False
    names = affinity.get("clusterNames") or []
    return not names or cluster.name in names


def _tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    """``Toleration.ToleratesTaint`` (comparison operators off, as Karmada calls it)."""
    if toleration.get("effect") and toleration.get("effect") != taint.get("effect"):
        return False
    if toleration.get("key") and toleration.get("key") != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return operator == "Exists"


def untolerated_taint(cluster: ClusterFacts, tolerations: Sequence[Mapping[str, Any]]) -> str | None:
    """The first NoSchedule/NoExecute taint no toleration tolerates, as ``key=value:effect``."""
    for taint in cluster.taints:
        if taint.get("effect") not in ("NoSchedule", "NoExecute"):
            continue
        if not any(_tolerates(t, taint) for t in tolerations if isinstance(t, dict)):
            value = taint.get("value") or ""
            return f"{taint.get('key', '')}{'=' + value if value else ''}:{taint.get('effect')}"
    return None


# --- replicas (pkg/util/helper/webstermethod.go, binding.go; pkg/scheduler/core/division_algorithm.go) ---


def webster(seats: int, votes: Mapping[str, int], names_descending: bool = False) -> dict[str, int]:
    """``AllocateWebsterSeats`` with ``tieBreakerByUID``: each seat to the highest votes/(2·seats+1); on
    equal priority fewer seats first, then the name (ascending for an empty UID, as offline)."""
    assigned = dict.fromkeys(votes, 0)
    if not assigned:
        return {}
    for _ in range(seats):
        best = None
        for name in assigned:
            if best is None or _before(name, best, votes, assigned, names_descending):
                best = name
        assert best is not None
        assigned[best] += 1
    return assigned


def _before(a: str, b: str, votes: Mapping[str, int], seats: Mapping[str, int], descending: bool) -> bool:
    # Go divides float64s; Python's int/int is the same correctly rounded double.
    pa = float(votes[a]) / float(2 * seats[a] + 1)
    pb = float(votes[b]) / float(2 * seats[b] + 1)
    if pa != pb:
        return pa > pb
    if seats[a] != seats[b]:
        return seats[a] < seats[b]
    return a > b if descending else a < b


def divide(seats: int, votes: Mapping[str, int]) -> tuple[dict[str, int], bool]:
    """The division with an empty UID, and whether a live UID could have changed it (the tie-breaker
    decided a seat: the two orders Karmada picks between by the UID's hash give different results)."""
    if sum(votes.values()) == 0:
        return {}, False
    ascending = webster(seats, votes)
    return ascending, webster(seats, votes, names_descending=True) != ascending


def static_weights(
    candidates: Sequence[ClusterFacts], rules: Sequence[Mapping[str, Any]] | None
) -> dict[str, int]:
    """``getStaticWeightInfoList``: each cluster's largest matching weight; weight 0 dropped, all 0 -> 1.
    No weightPreference at all weighs every candidate 1 (``getDefaultWeightPreference``)."""
    if rules is None:
        return {c.name: 1 for c in candidates}
    weights: dict[str, int] = {}
    for cluster in candidates:
        weight = 0
        for rule in rules:
            target = rule.get("targetCluster")
            if isinstance(target, dict) and cluster_matches(cluster, target):
                weight = max(weight, int(rule.get("weight") or 0))
        if weight > 0:
            weights[cluster.name] = weight
    if not weights:
        return {c.name: 1 for c in candidates}
    return weights


# --- images (pkg/util/imageparser, github.com/distribution/reference) ---------------------------------

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = f"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[(?:[a-fA-F0-9:]+)\])"
_DOMAIN_AND_PORT = rf"{_HOST}(?::[0-9]+)?"
_REMOTE = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_NAME = rf"(?:{_DOMAIN_AND_PORT}/)?{_REMOTE}"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}"
_REFERENCE = re.compile(rf"^({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?$", re.ASCII)
_ANCHORED_TAG = re.compile(rf"^{_TAG}$", re.ASCII)
_ANCHORED_DIGEST = re.compile(rf"^{_DIGEST}$", re.ASCII)
_DIGEST_ALGORITHMS = {"sha256": 64, "sha384": 96, "sha512": 128}


class ImageError(ValueError):
    pass


class Image(NamedTuple):
    hostname: str
    repository: str
    tag: str
    digest: str

    def __str__(self) -> str:
        full = f"{self.hostname}/{self.repository}" if self.hostname else self.repository
        if self.tag:
            return f"{full}:{self.tag}"
        return f"{full}@{self.digest}" if self.digest else full


def parse_image(text: str) -> Image:
    """``imageparser.Parse``: no docker.io normalisation; a reference with both a tag and a digest keeps
    only the tag (Karmada asks for Tagged first)."""
    match = _REFERENCE.match(text)
    if match is None:
        if not text:
            raise ImageError("repository name must have at least one component")
        if _REFERENCE.match(text.lower()):
            raise ImageError("repository name must be lowercase")
        raise ImageError("invalid reference format")
    name, tag, digest = match.group(1), match.group(2) or "", match.group(3) or ""
    if len(name) > 255:
        raise ImageError("repository name must not be more than 255 characters")
    if digest:
        algorithm, _, encoded = digest.partition(":")
        size = _DIGEST_ALGORITHMS.get(algorithm)
        if size is None:
            raise ImageError("unsupported digest algorithm")
        if len(encoded) != size or not re.fullmatch(r"[a-f0-9]+", encoded):
            raise ImageError("invalid checksum digest format")
    slash = name.find("/")
    if slash == -1 or (not any(c in name[:slash] for c in ".:") and name[:slash] != "localhost"):
        hostname, repository = "", name
    else:
        hostname, repository = name[:slash], name[slash + 1 :]
    return Image(hostname, repository, tag, "" if tag else digest)


def override_image(current: str, component: str, operator: str, value: str) -> str:
    """``overrideImage``: one component of the image added to, replaced or removed."""
    image = parse_image(current)
    if component == "Registry":
        host = {"add": image.hostname + value, "replace": value, "remove": ""}.get(operator, image.hostname)
        return str(image._replace(hostname=host))
    if component == "Repository":
        repo = {"add": image.repository + value, "replace": value, "remove": ""}.get(
            operator, image.repository
        )
        return str(image._replace(repository=repo))
    if component == "Tag":
        current_tag = image.tag or image.digest
        wanted = {"add": current_tag + value, "replace": value}.get(operator)
        if operator == "remove":
            return str(image._replace(tag="") if image.tag else image._replace(digest=""))
        if wanted is not None and _ANCHORED_TAG.match(wanted):
            return str(image._replace(tag=wanted, digest=""))
        if wanted is not None and _ANCHORED_DIGEST.match(wanted):
            return str(image._replace(digest=wanted, tag=""))
        return str(image)  # SetTagOrDigest leaves an image alone when the value is neither
    raise ImageError(f"unsupported image component({component})")


# --- dependencies (pkg/resourceinterpreter/default/native/dependencies.go, pkg/util/helper/pod.go) ------

POD_TEMPLATE = {
    "Deployment": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "Pod": ("spec",),
}
_SECRET_VOLUMES = ("azureFile", "cephfs", "cinder", "flexVolume", "rbd", "scaleIO", "iscsi", "storageos")


def dig(obj: Any, path: Sequence[str]) -> Any:
    """The value at ``path`` (keys of nested mappings), or None where a step is missing or not a mapping."""
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def dependencies(api: str, kind: str, obj: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(kind, name) of each ConfigMap, Secret, ServiceAccount and PVC the workload references."""
    if api == "networking.k8s.io/v1" and kind == "Ingress":
        return [
            ("Secret", str(t["secretName"])) for t in _dicts(dig(obj, ("spec", "tls"))) if t.get("secretName")
        ]
    path = POD_TEMPLATE.get(kind)
    expected = {"Pod": "v1", "Job": "batch/v1", "CronJob": "batch/v1"}.get(kind, "apps/v1")
    if path is None or api != expected:
        return []
    spec = dig(obj, path)
    if not isinstance(spec, dict):
        return []
    configmaps: set[str] = set()
    secrets: set[str] = {str(r.get("name")) for r in _dicts(spec.get("imagePullSecrets"))}
    containers = _dicts(spec.get("initContainers")) + _dicts(spec.get("containers"))
    containers += _dicts(spec.get("ephemeralContainers"))
    for container in containers:
        for source in _dicts(container.get("envFrom")):
            if isinstance(source.get("secretRef"), dict):
                secrets.add(str(source["secretRef"].get("name", "")))
            if isinstance(source.get("configMapRef"), dict):
                configmaps.add(str(source["configMapRef"].get("name", "")))
        for env in _dicts(container.get("env")):
            value_from = env.get("valueFrom")
            if isinstance(value_from, dict):
                if isinstance(value_from.get("secretKeyRef"), dict):
                    secrets.add(str(value_from["secretKeyRef"].get("name", "")))
                if isinstance(value_from.get("configMapKeyRef"), dict):
                    configmaps.add(str(value_from["configMapKeyRef"].get("name", "")))
    claims: set[str] = set()
    for volume in _dicts(spec.get("volumes")):
        for source_kind in _SECRET_VOLUMES:
            found = volume.get(source_kind)
            if isinstance(found, dict):
                ref = (
                    found.get("secretName")
                    if source_kind == "azureFile"
                    else dig(found, ("secretRef", "name"))
                )
                if ref:
                    secrets.add(str(ref))
        if isinstance(volume.get("csi"), dict):
            secrets.add(str(dig(volume["csi"], ("nodePublishSecretRef", "name")) or ""))
        if isinstance(volume.get("secret"), dict):
            secrets.add(str(volume["secret"].get("secretName", "")))
        if isinstance(volume.get("configMap"), dict):
            configmaps.add(str(volume["configMap"].get("name", "")))
        for projected in _dicts(dig(volume, ("projected", "sources"))):
            if isinstance(projected.get("secret"), dict):
                secrets.add(str(projected["secret"].get("name", "")))
            if isinstance(projected.get("configMap"), dict):
                configmaps.add(str(projected["configMap"].get("name", "")))
        if isinstance(volume.get("persistentVolumeClaim"), dict):
            claims.add(str(volume["persistentVolumeClaim"].get("claimName", "")))
    if kind == "StatefulSet":  # claims its volumeClaimTemplates make are not dependencies
        claims -= {
            str(dig(t, ("metadata", "name"))) for t in _dicts(dig(obj, ("spec", "volumeClaimTemplates")))
        }
    account = spec.get("serviceAccountName")
    accounts = {str(account)} if account and account != "default" else set()
    refs = [("ConfigMap", n) for n in configmaps] + [("Secret", n) for n in secrets]
    refs += [("ServiceAccount", n) for n in accounts] + [("PersistentVolumeClaim", n) for n in claims]
    return sorted((k, n) for k, n in refs if n)
