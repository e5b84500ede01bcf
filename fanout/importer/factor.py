"""Factoring one object's copies: a template of what most clusters share, and the fewest differences.

Pure functions over plain data. Every string is first escaped (``escape_text``) so that the source
renders it back unchanged; then, in this order:

1. ``${cluster.name}``: a string field that differs between clusters only by each cluster's own name is
   written once with the reference (``web.aws-east.example.com`` -> ``web.${cluster.name}.example.com``).
2. values: a scalar field every copy has, with three or more different values (replicas, a size), becomes
   ``${cluster.values.<key>}`` and each cluster gets its own value.
3. the template: for each map key the value most clusters have; lists of one length are compared item by
   item, others as a whole. Ties go to the first cluster in name order, so the result is deterministic.
4. the differences: per cluster, the fields where its copy differs from the template, as operations at
   disjoint paths; clusters that share an operation share an override.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from fanout.core.document import escape, value_at
from fanout.core.substitute import escape_text, map_strings, rename_refs
from fanout.importer.read import Copy, Key

# Three or more values of one field across clusters read better as per-cluster values than as overrides.
VALUES_FROM = 3
PROTECTED = ("/apiVersion", "/kind", "/metadata/name", "/metadata/namespace", "/metadata/generateName")
NAME_REF = "${cluster.name}"


class Op(NamedTuple):
    """One difference: ``op`` (add, replace, remove) at ``path``, with ``value`` (None for remove);
    ``append`` (``value``: the items added at the end) and ``truncate`` (``value``: the indexes removed,
    last first) for lists."""

    op: str
    path: str
    value: Any


@dataclass(frozen=True)
class Factored:
    key: Key
    template: dict[str, Any]
    clusters: tuple[str, ...]  # where the object is, in cluster order
    groups: tuple[tuple[tuple[str, ...], tuple[Op, ...]], ...]  # clusters -> their shared operations
    values: Mapping[str, Mapping[str, Any]]  # cluster -> value key -> value


def canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


# Values whose own equality is canon's: text, whole numbers, booleans and null (1 and True, or 1 and 1.0, are
# of different types, as their canon texts differ). Most leaves are of these; canon is 20x slower.
_SIMPLE = frozenset({str, int, bool, type(None)})


def _key(value: Any) -> Any:
    """A dict key that is equal for two values exactly when their ``canon`` is."""
    kind = type(value)
    return (kind, value) if kind in _SIMPLE else canon(value)


def same(a: Any, b: Any) -> bool:
    """``canon(a) == canon(b)``, without encoding the common cases."""
    kind = type(a)
    if kind is type(b) and kind in _SIMPLE:
        return bool(a == b)
    return canon(a) == canon(b)


def plain_copy(value: Any) -> Any:
    """A copy of plain data (maps, lists, scalars): what copy.deepcopy gives it, several times faster."""
    if isinstance(value, dict):
        return {k: plain_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_copy(v) for v in value]
    return value


def escaped(value: Any) -> Any:
    return map_strings(value, escape_text)


def leaves(value: Any, pointer: str = "") -> list[tuple[str, Any]]:
    """Every scalar of ``value`` with its JSON Pointer (through maps and lists), in document order."""
    found: list[tuple[str, Any]] = []
    _leaves(value, pointer, found)
    return found


def _leaves(value: Any, pointer: str, found: list[tuple[str, Any]]) -> None:
    # One list filled by plain recursion: nested generators cost each leaf a step per level above it.
    if isinstance(value, dict):
        for k, v in value.items():
            _leaves(v, f"{pointer}/{escape(str(k))}", found)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _leaves(v, f"{pointer}/{i}", found)
    else:
        found.append((pointer, value))


def _parts(pointer: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]


def get(value: Any, pointer: str) -> Any:
    for part in _parts(pointer):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def put(value: Any, pointer: str, leaf: Any) -> None:
    parts = _parts(pointer)
    for part in parts[:-1]:
        value = value[int(part)] if isinstance(value, list) else value[part]
    last = parts[-1]
    if isinstance(value, list):
        value[int(last)] = leaf
    else:
        value[last] = leaf


def _protected(pointer: str) -> bool:
    return any(pointer == p or pointer.startswith(p + "/") for p in PROTECTED)


def _largest(groups: Mapping[str, Sequence[str]]) -> int:
    return max((len(members) for members in groups.values()), default=0)


_REFS = re.compile(r"\$\$\{|\$\{cluster[^}]*\}")


def _replace_outside_refs(text: str, literal: str, reference: str) -> str | None:
    """``text`` with ``literal`` written as ``reference``, outside the references it holds already; None
    when an occurrence follows a "$" (the reference would read as an escaped "$${")."""
    parts = []
    last = 0
    for match in _REFS.finditer(text):
        parts.append((text[last : match.start()], False))
        parts.append((match.group(0), True))
        last = match.end()
    parts.append((text[last:], False))
    out: list[str] = []
    for part, is_ref in parts:
        if not is_ref and literal in part:
            if "$" + literal in part or (part.startswith(literal) and out and out[-1].endswith("$")):
                return None
            part = part.replace(literal, reference)
        out.append(part)
    return "".join(out)


def template_refs(work: Mapping[str, Any], substitutions: Sequence[tuple[Mapping[str, str], str]]) -> None:
    """For each ``(literals, reference)`` in turn, write ``reference`` for each cluster's own
    ``literals[cluster]`` where that makes more clusters agree on a string field (step 1):
    ``${cluster.name}``, then ``${cluster.labels.<key>}`` for each label."""
    by_pointer: dict[str, dict[str, str]] = {}
    for cluster, data in work.items():
        for pointer, leaf in leaves(data):
            if isinstance(leaf, str) and not _protected(pointer):
                by_pointer.setdefault(pointer, {})[cluster] = leaf
    # A field every cluster has the same already has nothing to gain.
    varying = {p: found for p, found in by_pointer.items() if len(found) > 1 and len(set(found.values())) > 1}
    for literals, reference in substitutions:
        for pointer, found in varying.items():
            raw: dict[str, list[str]] = {}
            named: dict[str, list[str]] = {}
            for cluster, leaf in found.items():
                raw.setdefault(leaf, []).append(cluster)
                literal = literals.get(cluster)
                if literal and literal in leaf:
                    text = _replace_outside_refs(leaf, literal, reference)
                    if text is not None and text != leaf:
                        named.setdefault(text, []).append(cluster)
            if _largest(named) > _largest(raw):
                text, members = max(named.items(), key=lambda item: (len(item[1]), -len(item[0])))
                for cluster in members:
                    put(work[cluster], pointer, text)
                    found[cluster] = text


class ValueBook:
    """The per-cluster values of the whole import: shared where the values agree, then named.

    A field whose values agree, cluster by cluster, with those of a field seen before (the same domain in
    a Service annotation and in a Deployment's environment) uses the same value, so one edit changes both.
    Keys are numbered while objects are factored; ``names`` then gives each its shortest readable name
    among the fields that use it.
    """

    def __init__(self) -> None:
        self.keys: dict[str, dict[str, Any]] = {}  # provisional key -> cluster -> value, in creation order
        self.suggested: dict[str, list[str]] = {}

    def key_for(self, key: Key, field: str, found: Mapping[str, Any]) -> str:
        name = re.sub(r"[^A-Za-z0-9-]+", "-", key.name).strip("-")
        stem = re.sub(r"[^A-Za-z0-9]+", "-", field).strip("-") or "value"
        stem = stem.lower() if stem.isupper() else stem  # an environment variable's NAME reads as name
        ideas = [f"{name}-{stem}", f"{key.kind.lower()}-{name}-{stem}"]
        for provisional, known in self.keys.items():
            shared = set(known) & set(found)
            agree = all(same(known[c], found[c]) for c in shared)
            if agree and len({_key(found[c]) for c in shared}) >= VALUES_FROM:
                known.update(found)
                self.suggested[provisional] += ideas
                return provisional
        provisional = f"fanout-import-{len(self.keys)}"
        self.keys[provisional] = dict(found)
        self.suggested[provisional] = ideas
        return provisional

    def names(self) -> dict[str, str]:
        """``cluster.values.<provisional>`` -> ``cluster.values.<name>``, names unique."""
        taken: set[str] = set()
        chosen: dict[str, str] = {}
        for provisional, ideas in self.suggested.items():
            ordered = sorted(dict.fromkeys(ideas), key=lambda idea: (len(idea), idea))
            name = next((idea for idea in ordered if idea not in taken), None)
            index = 2
            while name is None:
                if f"{ordered[0]}-{index}" not in taken:
                    name = f"{ordered[0]}-{index}"
                index += 1
            taken.add(name)
            chosen[f"cluster.values.{provisional}"] = f"cluster.values.{name}"
        return chosen


def named(item: Factored, names: Mapping[str, str]) -> Factored:
    """``item`` with its provisional value keys replaced by the final names."""
    short = {k.removeprefix("cluster.values."): v.removeprefix("cluster.values.") for k, v in names.items()}
    return Factored(
        item.key,
        rename_refs(item.template, names),
        item.clusters,
        tuple(
            (members, tuple(Op(op.op, op.path, rename_refs(op.value, names)) for op in ops))
            for members, ops in item.groups
        ),
        {c: {short.get(k, k): v for k, v in found.items()} for c, found in item.values.items()},
    )


def field_name(data: Any, pointer: str) -> str:
    """What to call the field at ``pointer``: its key, or for ``.../env/2/value`` the item's name."""
    parts = _parts(pointer)
    for depth in range(len(parts) - 1, -1, -1):
        if parts[depth].isdigit():
            item = get(data, "/" + "/".join(escape(p) for p in parts[: depth + 1]))
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                return item["name"] if depth == len(parts) - 2 else f"{item['name']}-{parts[-1]}"
            continue
        if parts[depth] not in ("value", "values", "data", "spec"):
            return parts[depth].rsplit("/", 1)[-1]  # an annotation's or label's key without its prefix
    return parts[-1] if parts else "value"


SEPARATORS = frozenset("./-_:=@ \"'")
LONGEST_VALUE = 200


def _common_ends(texts: Sequence[str]) -> tuple[str, str]:
    """The longest prefix and suffix all ``texts`` share, cut back to a separator so whole words vary."""
    prefix = texts[0]
    for text in texts[1:]:
        while not text.startswith(prefix):
            prefix = prefix[:-1]
    shortest = min(len(t) for t in texts)
    suffix = texts[0][len(texts[0]) - shortest :] if shortest else ""
    for text in texts[1:]:
        while not text.endswith(suffix):
            suffix = suffix[1:]
    while prefix and prefix[-1] not in SEPARATORS:
        prefix = prefix[:-1]
    while suffix and suffix[0] not in SEPARATORS:
        suffix = suffix[1:]
    # A "$" just before the reference would make it an escaped "$${" and print the reference as text.
    while prefix.endswith("$"):
        prefix = prefix[:-1]
    if len(prefix) + len(suffix) > shortest:
        suffix = suffix[len(prefix) + len(suffix) - shortest :]
    return prefix, suffix


def move_to_values(
    key: Key, work: Mapping[str, Any], originals: Mapping[str, Any], book: ValueBook
) -> dict[str, dict[str, Any]]:
    """Fields that vary a lot become per-cluster values (step 2); returns cluster -> key -> value.

    A string keeps what every cluster shares at its start and end in the template
    (``https://${cluster.values.web-host}/``), so that the value holds only what varies.
    """
    if len(work) < VALUES_FROM:
        return {}
    maps = {cluster: dict(leaves(data)) for cluster, data in work.items()}
    # Any field enough copies have: where most have it the template holds the reference; where a few have
    # it, their overrides do, and being the same text in every one of them, they become one override.
    counts: dict[str, int] = {}
    for m in maps.values():
        for pointer in m:
            counts[pointer] = counts.get(pointer, 0) + 1
    common = [p for p, n in counts.items() if n >= VALUES_FROM]
    moved: dict[str, dict[str, Any]] = {}
    for pointer in sorted(common):
        if _protected(pointer):
            continue
        found = {cluster: m[pointer] for cluster, m in maps.items() if pointer in m}
        if not all(isinstance(v, (str, int, float, bool)) for v in found.values()):
            continue
        if len({_key(v) for v in found.values()}) < VALUES_FROM:
            continue
        raw = {cluster: get(originals[cluster], pointer) for cluster in found}
        prefix = suffix = ""
        if all(isinstance(v, str) for v in raw.values()):
            prefix, suffix = _common_ends(list(raw.values()))
            raw = {c: v[len(prefix) : len(v) - len(suffix)] for c, v in raw.items()}
            if any("\n" in v or len(v) > LONGEST_VALUE or not v for v in raw.values()):
                continue  # a block of text varies in more than one place: overrides say it better
        name = book.key_for(key, field_name(originals[next(iter(found))], pointer), raw)
        reference = "${cluster.values." + name + "}"
        text = escape_text(prefix) + reference + escape_text(suffix) if prefix or suffix else reference
        for cluster in found:
            put(work[cluster], pointer, text)
            moved.setdefault(cluster, {})[name] = raw[cluster]
    return moved


def base(found: Sequence[Any]) -> Any:
    """What most of ``found`` have (step 3)."""
    if all(isinstance(v, dict) for v in found):
        result: dict[str, Any] = {}
        keys: dict[str, None] = {}
        for v in found:
            keys.update(dict.fromkeys(v))
        for k in keys:
            present = [v[k] for v in found if k in v]
            if len(present) * 2 > len(found):
                result[k] = base(present)
        return result
    if all(isinstance(v, list) for v in found) and len({len(v) for v in found}) == 1:
        return [base([v[i] for v in found]) for i in range(len(found[0]))]
    counts: dict[Any, int] = {}
    first: dict[Any, Any] = {}
    for v in found:
        key = _key(v)
        counts[key] = counts.get(key, 0) + 1
        first.setdefault(key, v)
    best = max(counts.values())
    winner = next(c for c in first if counts[c] == best)  # the first of the most common, in cluster order
    return plain_copy(first[winner])


# A reference the import writes (a "$${" is escaped text, not one).
_IMPORTED_REF = re.compile(r"\$\$\{|\$\{cluster\.(values|labels)\.([^}]*)\}")


def _undefined_in(text: str, clusters: Sequence[str], has: Callable[[str, str, str], bool]) -> bool:
    """Whether ``text`` references a value or label (``has(kind, name, cluster)``) some cluster lacks."""
    for match in _IMPORTED_REF.finditer(text):
        kind, name = match.group(1), match.group(2)
        if kind is not None and not all(has(kind, name, c) for c in clusters):
            return True
    return False


def _drop_undefined(
    template: Any,
    values: Mapping[str, Mapping[str, Any]],
    labels: Mapping[str, Mapping[str, str]],
    clusters: Sequence[str],
    book: ValueBook,
) -> None:
    """Take out of ``template`` each field that references a value or label some cluster does not have.

    Where most copies have a field, the template holds it, with the reference its value became; a cluster
    without the field would still have the reference substituted (before its override removes the field)
    and fail, and the object was imported as one template per cluster (Kong's Deployment, 36 of them).
    Without the field in the template, the clusters that have it add it in an override, one for all.
    A string item of a list goes with its whole list (the indexes of the others would shift)."""

    def has(kind: str, name: str, cluster: str) -> bool:
        if kind == "labels":
            return name in labels.get(cluster, {})
        # A value key other objects' fields share is the cluster's too, if any of them gave it one.
        return name in values.get(cluster, {}) or cluster in book.keys.get(name, {})

    for pointer, leaf in leaves(template):
        if not isinstance(leaf, str) or not _undefined_in(leaf, clusters, has):
            continue
        parts = _parts(pointer)
        while len(parts) > 1 and isinstance(value_at(template, parts[:-1]), list):
            parts = parts[:-1]
        parent = value_at(template, parts[:-1])
        if not isinstance(parent, dict) or parts[-1] not in parent:
            continue  # taken out already, with a field above it
        del parent[parts[-1]]
        # A map this left empty goes too: the clusters that have the field add the map with it.
        while not parent and len(parts) > 1 and isinstance(value_at(template, parts[:-2]), dict):
            parts = parts[:-1]
            parent = value_at(template, parts[:-1])
            del parent[parts[-1]]


def diff(template: Any, value: Any, pointer: str = "") -> list[Op]:
    """The operations that turn ``template`` into ``value``, at disjoint paths (step 4)."""
    if isinstance(template, dict) and isinstance(value, dict):
        ops = [Op("remove", f"{pointer}/{escape(str(k))}", None) for k in template if k not in value]
        for k, v in value.items():
            where = f"{pointer}/{escape(str(k))}"
            ops += diff(template[k], v, where) if k in template else [Op("add", where, v)]
        return ops
    if isinstance(template, list) and isinstance(value, list):
        if len(template) == len(value):
            pairs = enumerate(zip(template, value, strict=True))
            return [op for i, (t, v) in pairs for op in diff(t, v, f"{pointer}/{i}")]
        # Items added at the end, or the last ones dropped: say only that (one operation, applied whole,
        # since the order of several appends or removals matters).
        common = min(len(template), len(value))
        if same(template[:common], value[:common]):
            if len(value) > common:
                return [Op("append", pointer, value[common:])]
            return [Op("truncate", pointer, list(range(len(template) - 1, common - 1, -1)))]
    if not same(template, value):
        return [Op("replace", pointer, value)]
    return []


def factor(
    key: Key, copies: Sequence[Copy], book: ValueBook, labels: Mapping[str, Mapping[str, str]] | None = None
) -> Factored:
    """One object's template, operations by cluster group, and per-cluster values."""
    originals = {c.cluster: c.data for c in copies}
    work = {c.cluster: escaped(dict(c.data)) for c in copies}  # escaped() copies every map and list
    substitutions: list[tuple[Mapping[str, str], str]] = [({c: c for c in work}, NAME_REF)]
    for label in sorted({k for c in work for k in (labels or {}).get(c, {})}):
        literals = {c: (labels or {}).get(c, {}).get(label, "") for c in work}
        substitutions.append((literals, "${cluster.labels." + label + "}"))
    template_refs(work, substitutions)
    # A Secret's values stay in its own files, not in the cluster inventory every reader sees.
    values = {} if key.kind == "Secret" else move_to_values(key, work, originals, book)
    template = base(list(work.values()))
    _drop_undefined(template, values, labels or {}, list(work), book)
    shared: dict[tuple[str, str, str], tuple[Op, list[str]]] = {}
    for cluster, data in work.items():
        for op in diff(template, data):
            entry = shared.setdefault((op.op, op.path, _key(op.value)), (op, []))
            entry[1].append(cluster)
    groups: dict[tuple[str, ...], list[Op]] = {}
    for op, members in shared.values():
        groups.setdefault(tuple(members), []).append(op)
    order = {c.cluster: i for i, c in enumerate(copies)}
    ordered = sorted(groups.items(), key=lambda item: (-len(item[0]), [order[c] for c in item[0]]))
    return Factored(
        key,
        template,
        tuple(c.cluster for c in copies),
        tuple((members, tuple(sorted(ops, key=lambda o: o.path))) for members, ops in ordered),
        values,
    )


def per_cluster(key: Key, copies: Sequence[Copy]) -> list[Factored]:
    """The fallback: one template per cluster, each exactly that cluster's copy."""
    return [Factored(key, escaped(dict(c.data)), (c.cluster,), (), {}) for c in copies]
