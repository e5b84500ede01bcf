"""Source formats: each a front end that turns its documents into the one model.

The templates folder may hold any mix of fanout's own manifests (``manifest``), KubeFed's objects
(``kubefed``), federation-v2's (``federation_v2``), Helm charts (``helm``), Karmada's policies
(``karmada``: then every plain manifest is a Karmada resource template) and, when fanout.yaml says
``format: federation-v1``, Federation v1's annotated objects (``federation_v1``). Each front end makes
``Template``s and
``Schedule``s; after this stage nothing knows which format an object came from. Then, as KubeFed
ordered them: namespace placements are found, replica schedules set each workload's clusters and
replicas, and the namespace placement limits every namespaced object that obeys it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from fanout.core.document import Document
from fanout.core.errors import Problem, Problems
from fanout.core.model import Cluster, Config, Template
from fanout.core.validate import FANOUT_API, not_a_mapping
from fanout.formats import controlplane, federation_v1, federation_v2, helm, karmada, kubefed, manifest
from fanout.formats.common import Context, check_scopes, crd_scopes
from fanout.formats.lists import api_kind
from fanout.formats.namespaces import namespace_reach, restrict_to_namespaces
from fanout.formats.scheduling import apply_schedules, warn_lost_replicas
from fanout.formats.typeconfig import TYPE_CONFIG_APIS, TYPE_CONFIG_KIND, federated_types
from fanout.kube.kinds import group_of

RSP_KIND = "ReplicaSchedulingPreference"


def _route(doc: Document, config: Config) -> str:
    """Which front end reads ``doc``."""
    api, kind = api_kind(doc)
    group = group_of(api)
    if api == FANOUT_API:
        return "helm" if kind == helm.KIND else "fanout"
    if group in karmada.KARMADA_GROUPS:
        return "karmada"
    if kind == TYPE_CONFIG_KIND and api in TYPE_CONFIG_APIS:
        return "typeconfig"
    if kind == RSP_KIND and api in kubefed.SCHEDULING_APIS:
        return "schedule"
    if group in kubefed.GROUPS and kind.startswith("Federated"):
        return "kubefed"
    if group == federation_v2.TYPES_GROUP and kind.startswith("Federated"):
        return "federation-v2"
    if group == federation_v2.PRIMITIVES_GROUP and kind.startswith("Federated"):
        return "primitives"
    if controlplane.refusal(doc, config.templates) is not None:
        return "refused"
    return "federation-v1" if config.format == federation_v1.FORMAT else "manifest"


def _host_namespaces(docs: Iterable[Document]) -> dict[str, Document]:
    """Plain ``v1 Namespace`` documents (without fanout placement) by name: the host cluster's namespaces."""
    found: dict[str, Document] = {}
    for doc in docs:
        metadata = doc.data.get("metadata")
        if (
            api_kind(doc) == ("v1", "Namespace")
            and isinstance(metadata, dict)
            and isinstance(metadata.get("name"), str)
            and not manifest.has_placement_annotations(doc)
        ):
            found.setdefault(metadata["name"], doc)
    return found


def _absorb_host_namespaces(
    templates: list[Template], plain: set[int], host: dict[str, Document], warnings: list[Problem]
) -> list[Template]:
    """A plain Namespace that a federated namespace placement also renders is the host cluster's copy.

    KubeFed needed the namespace in its host cluster to hold the FederatedNamespace; it propagated the
    federated one. The plain one is not rendered, so the two do not collide.
    """
    federated = {t.ident.name: t for t in templates if t.defines_namespace}
    kept = []
    for template in templates:
        name = template.ident.name
        if id(template) in plain and template.doc is host.get(name) and name in federated:
            metadata = template.doc.data["metadata"]
            extra = sorted(k for k in ("labels", "annotations") if metadata.get(k)) + sorted(
                k for k in template.doc.data if k not in ("apiVersion", "kind", "metadata")
            )
            source_kind = federated[name].doc.data.get("kind")
            if extra and source_kind != federation_v2.NAMESPACE_PLACEMENT:
                warnings.append(
                    Problem(
                        f"Namespace {name!r} is rendered from the {source_kind} at"
                        f" {federated[name].doc.location()}, as KubeFed propagated it; this host-cluster copy"
                        f" is not rendered, and its {', '.join(extra)} with it",
                        template.doc.location(),
                    )
                )
            continue
        kept.append(template)
    return kept


def build_templates(
    docs: Sequence[Document],
    config: Config,
    clusters: Sequence[Cluster],
    problems: Problems,
    files: Mapping[str, bytes | None] | None = None,
) -> tuple[tuple[Template, ...], tuple[Problem, ...]]:
    """Every template, placed and scheduled as its own system would have; also the warnings."""
    if config.format == federation_v1.FORMAT and config.default_namespace is None:
        config = replace(config, default_namespace=federation_v1.DEFAULT_NAMESPACE)
    routes: dict[str, list[Document]] = {}
    for doc in docs:
        if not_a_mapping(doc, problems):
            continue
        routes.setdefault(_route(doc, config), []).append(doc)
    for doc in routes.get("fanout", []):
        kind = api_kind(doc)[1] or "fanout"
        article = "an" if kind[:1] in "AEIOU" else "a"
        problems.add(f"{article} {kind} document does not belong among the templates", doc.location("/kind"))
    for doc in routes.get("refused", []):
        problems.add(str(controlplane.refusal(doc, config.templates)), doc.location("/kind"))

    types = federated_types(routes.get("typeconfig", []), problems)
    ctx = Context(config, clusters, crd_scopes(docs), types.types, problems)
    # Charts first: the CustomResourceDefinitions they hold say whether their kinds are namespaced, for the
    # charts' objects and every other template alike (the templates' own definitions win a disagreement).
    charts = helm.render(routes.get("helm", []), ctx, files or {})
    chart_docs = [doc for chart in charts for doc in chart.documents()]
    ctx = replace(ctx, scopes={**crd_scopes(chart_docs), **ctx.scopes})
    check_scopes(config, [*docs, *chart_docs], problems)
    templates: list[Template] = []
    plain: set[int] = set()
    if routes.get("karmada"):  # a Karmada source: its policies place every plain manifest
        templates += karmada.build(routes["karmada"], routes.pop("manifest", []), ctx)
    for doc in routes.get("manifest", []):
        built = manifest.build(doc, ctx)
        if built is not None:
            plain.add(id(built))
            templates.append(built)
            federation_v1.schedule(doc, built, ctx, annotated_only=True)
    for doc in routes.get("federation-v1", []):
        built = federation_v1.build(doc, ctx)
        if built is not None:
            plain.add(id(built))
            templates.append(built)
    for doc in routes.get("kubefed", []):
        built = kubefed.build(doc, ctx, dict(types.disabled))
        if built is not None:
            templates.append(built)
    for doc in routes.get("federation-v2", []):
        built = federation_v2.build_single(doc, ctx, types.disabled)
        if built is not None:
            templates.append(built)
    templates += helm.templates(charts, ctx)
    host = _host_namespaces(routes.get("manifest", []))
    templates += federation_v2.build_primitives(routes.get("primitives", []), ctx, host, types.disabled)
    templates = _absorb_host_namespaces(templates, plain, host, ctx.warnings)
    templates.sort(key=lambda t: t.doc.order)  # file order, whatever the format

    template_docs = [
        d for route, found in routes.items() if route not in ("refused", "fanout") for d in found
    ]
    kubefed.read_schedules(routes.get("schedule", []), ctx, templates, template_docs)
    reach, where = namespace_reach(templates, clusters, problems)
    templates, applied = apply_schedules(templates, clusters, ctx.schedules, reach, problems, ctx.warnings)
    templates = restrict_to_namespaces(
        templates, clusters, config.namespace_placement, reach, where, ctx.warnings
    )
    warn_lost_replicas(applied, templates, clusters, ctx.warnings)
    return tuple(templates), tuple(ctx.warnings)
