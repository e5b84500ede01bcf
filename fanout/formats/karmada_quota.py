"""Karmada's FederatedResourceQuota: a ResourceQuota in each member its ``staticAssignments`` name.

Karmada's sync controller (``federated_resource_quota_sync_controller.go`` in
``pkg/controllers/federatedresourcequota/``, ``buildWorks``, on by default) writes, for every member
cluster that an assignment names (the first one that names it), a ResourceQuota with the
FederatedResourceQuota's name and namespace and the assignment's ``hard``, sent as it is: no
PropagationPolicy claims it and no OverridePolicy changes it. Its admission webhook
(``pkg/webhook/federatedresourcequota/validating.go``) refuses a quota whose resource names or quantities
Kubernetes would refuse, an assignment of a resource ``overall`` does not list, and an ``overall`` below
the sum of the assignments; fanout refuses the same, at the line. Every file is read at the commit
``karmada_rules`` names. The enforcement of ``overall`` at scheduling (behind the
``FederatedQuotaEnforcement`` gate, off by default) writes nothing to a member. Quantities are written as
given; Karmada writes them in canonical form (``1024Mi`` as ``1Gi``), which each member's API server
stores either way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any

from fanout.core.document import Document, escape
from fanout.core.errors import Problem
from fanout.core.model import Placement, Template
from fanout.core.validate import check, did_you_mean
from fanout.formats import manifest
from fanout.formats.common import Context

KIND = "FederatedResourceQuota"

# k8s.io/apimachinery resource.Quantity: a number, then one suffix (binary, decimal SI, or an exponent).
_QUANTITY = re.compile(
    r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$"
)
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}

# pkg/util/lifted/corehelpers.go: what a quota may name without a "/", and what counts in whole units.
_QUOTA_RESOURCES = frozenset(
    {
        "cpu",
        "memory",
        "ephemeral-storage",
        "requests.cpu",
        "requests.memory",
        "requests.storage",
        "requests.ephemeral-storage",
        "limits.cpu",
        "limits.memory",
        "limits.ephemeral-storage",
        "pods",
        "resourcequotas",
        "services",
        "replicationcontrollers",
        "secrets",
        "persistentvolumeclaims",
        "configmaps",
        "services.nodeports",
        "services.loadbalancers",
    }
)
_STANDARD = _QUOTA_RESOURCES | {"storage"}
_INTEGER = frozenset(
    {
        "pods",
        "resourcequotas",
        "services",
        "replicationcontrollers",
        "secrets",
        "configmaps",
        "persistentvolumeclaims",
        "services.nodeports",
        "services.loadbalancers",
    }
)
_HUGE_PAGES = ("hugepages-", "requests.hugepages-")
# apimachinery validation.IsQualifiedName and IsDNS1123Subdomain / IsDNS1123Label.
_NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# pkg/apis/cluster/validation/validation.go ``clusterNameMaxLength``; the webhook's name limit (a label).
CLUSTER_NAME_MAX = 48
NAME_MAX = 63


def quantity(value: Any) -> Decimal | None:
    """The amount a Kubernetes quantity stands for (``"1Gi"``, ``"500m"``, ``4``), or None if it is none."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None
    match = _QUANTITY.match(str(value))
    if match is None:
        return None
    try:
        number = Decimal(match.group(1))
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        return None
    suffix = match.group(2) or ""
    if suffix in _BINARY:
        return number * (Decimal(2) ** _BINARY[suffix])
    if suffix in _DECIMAL:
        return number.scaleb(_DECIMAL[suffix])
    return number.scaleb(int(suffix[1:]))


def _qualified_name(value: str) -> bool:
    prefix, slash, name = value.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _SUBDOMAIN.match(prefix)):
        return False
    return len(name) <= NAME_MAX and bool(_NAME_PART.match(name))


def _extended(name: str) -> bool:
    """``IsExtendedResourceName``: a name with a domain that is not Kubernetes' own."""
    native = "/" not in name or "kubernetes.io/" in name
    return not native and not name.startswith("requests.") and _qualified_name("requests." + name)


def _resource_problems(resources: Any, pointer: str) -> list[tuple[str, str]]:
    """What the webhook's ``validateResourceList`` refuses: (message, pointer) each."""
    found: list[tuple[str, str]] = []
    if not isinstance(resources, Mapping):
        return found  # the schema says what is wrong
    for name, value in resources.items():
        where = f"{pointer}/{escape(str(name))}"
        name = str(name)
        if not _qualified_name(name):
            found.append(
                (f"{name!r} is not a resource name (a qualified name, such as example.com/gpus)", where)
            )
            continue
        if "/" not in name and name not in _STANDARD and not name.startswith(_HUGE_PAGES):
            found.append((f"{name!r} must be a standard resource type or fully qualified", where))
            continue
        if "/" not in name and name not in _QUOTA_RESOURCES and not name.startswith(_HUGE_PAGES):
            found.append((f"{name!r} is not a resource a quota can limit", where))
            continue
        amount = quantity(value)
        if amount is None:
            found.append((f"{value!r} is not a quantity (such as 10, 500m, 20Gi)", where))
        elif amount < 0:
            found.append((f"{name}: {value} must be greater than or equal to 0", where))
        elif (name in _INTEGER or _extended(name)) and (amount * 1000).to_integral_value(
            ROUND_CEILING
        ) % 1000:
            found.append((f"{name}: {value} must be an integer", where))
    return found


def _sums(spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``validateOverallAndAssignments``: ``overall`` holds every assigned resource, at least their sum."""
    overall = spec.get("overall")
    assignments = [a for a in spec.get("staticAssignments") or [] if isinstance(a, Mapping)]
    if not isinstance(overall, Mapping):
        return []
    found: list[tuple[str, str]] = []
    for name, value in overall.items():
        total = sum(
            (quantity(a["hard"][name]) or Decimal(0))
            for a in assignments
            if isinstance(a.get("hard"), Mapping) and name in a["hard"]
        )
        limit = quantity(value)
        if limit is not None and limit < total:
            found.append(
                (
                    f"overall {name} is {value}, less than the static assignments' sum",
                    f"/spec/overall/{escape(str(name))}",
                )
            )
    for index, assignment in enumerate(assignments):
        hard = assignment.get("hard")
        for name in hard if isinstance(hard, Mapping) else ():
            if name not in overall:
                where = f"/spec/staticAssignments/{index}/hard/{escape(str(name))}"
                found.append((f"{name} is assigned but not in overall", where))
    return found


def build(docs: Sequence[Document], ctx: Context, namespace: str) -> list[Template]:
    """The ResourceQuotas Karmada's sync controller writes for ``docs`` (FederatedResourceQuotas); the
    namespace of one written without any is ``namespace``."""
    templates: list[Template] = []
    members = [c.name for c in ctx.clusters]
    for doc in docs:
        schema_problems = check(doc, "karmada")
        if schema_problems:
            ctx.problems.extend(schema_problems)
            continue
        spec = doc.data["spec"]
        metadata = doc.data["metadata"]
        found: list[tuple[str, str]] = []
        if len(str(metadata["name"])) > NAME_MAX:
            found.append((f"a {KIND} name must be no more than {NAME_MAX} characters", "/metadata/name"))
        found += _resource_problems(spec.get("overall"), "/spec/overall")
        assignments = spec.get("staticAssignments") or []
        for index, assignment in enumerate(assignments):
            cluster = str(assignment["clusterName"])
            if len(cluster) > CLUSTER_NAME_MAX or not _LABEL.match(cluster):
                found.append(
                    (
                        f"clusterName {cluster!r} is not a cluster name (a DNS label of at most"
                        f" {CLUSTER_NAME_MAX} characters)",
                        f"/spec/staticAssignments/{index}/clusterName",
                    )
                )
            found += _resource_problems(assignment.get("hard"), f"/spec/staticAssignments/{index}/hard")
        found += _sums(spec)
        for message, pointer in found:
            ctx.problems.add(f"{KIND} {metadata['name']}: {message}", doc.location(pointer))
        if found:
            continue
        chosen: dict[str, int] = {}
        for index, assignment in enumerate(assignments):
            cluster = assignment["clusterName"]
            if cluster in members:
                chosen.setdefault(cluster, index)  # the first that names it
            else:
                ctx.warnings.append(
                    Problem(
                        f"{KIND} {metadata['name']}: {cluster!r} is no member cluster, so Karmada writes no"
                        f" ResourceQuota for this assignment{did_you_mean(cluster, set(members))}",
                        doc.location(f"/spec/staticAssignments/{index}/clusterName"),
                    )
                )
        for cluster, index in sorted(chosen.items()):
            quota = {
                "apiVersion": "v1",
                "kind": "ResourceQuota",
                "metadata": {"name": metadata["name"], "namespace": metadata.get("namespace") or namespace},
                "spec": {"hard": dict(assignments[index]["hard"])},
            }
            where = Placement(
                f"/spec/staticAssignments/{index}",
                names=(cluster,),
                names_decide=True,
                doc=doc,
                note=f"{KIND} {metadata['name']}: Karmada's sync controller writes it for this assignment",
            )
            built = manifest.build(Document(doc.path, doc.index, quota, {}, index), ctx, where)
            if built is not None:
                templates.append(built)
    return templates
