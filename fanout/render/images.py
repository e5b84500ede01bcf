"""kustomize's ``images:`` (``Override.spec.images``): new names, tags and digests for container images.

Followed from kustomize at commit 12f9e6391464b3ad9dd3fe8182049dc1b1772990, so that an overlay's ``images:``
pasted into an Override builds what ``kubectl kustomize`` builds:

- ``api/filters/imagetag/legacy.go``: every ``image`` of the items of any list under a key named
  ``containers`` or ``initContainers``, wherever it is in the object;
- then ``api/filters/imagetag/imagetag.go`` over the field specs of
  ``api/internal/konfig/builtinpluginconsts/images.go`` (``spec/containers[]/image``,
  ``spec/initContainers[]/image``, ``spec/volumes[]/image/reference`` and the same under
  ``spec/template/``). A container those paths reach is updated twice: an image still matching after the
  first pass is updated again, so a ``tagSuffix`` is added twice there (``nginx:1.0`` -> ``nginx:1.0-x-x``),
  as kustomize v5.8.1 writes it;
- CustomResourceDefinitions are left alone.

What one entry makes of one image is ``fanout.core.images``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from fanout.core.images import ImageRule, updated

CONTAINER_LISTS = ("containers", "initContainers")
# The field specs of images.go, as (path to a list, path within each item).
FIELD_SPECS = (
    (("spec", "containers"), ("image",)),
    (("spec", "initContainers"), ("image",)),
    (("spec", "volumes"), ("image", "reference")),
    (("spec", "template", "spec", "containers"), ("image",)),
    (("spec", "template", "spec", "initContainers"), ("image",)),
    (("spec", "template", "spec", "volumes"), ("image", "reference")),
)


class NotText(Exception):
    """An image field that is a map or a list (kustomize refuses it); ``pointer`` is where."""

    def __init__(self, pointer: str) -> None:
        super().__init__(pointer)
        self.pointer = pointer


Field = tuple[Any, Any, str]  # the map or list holding the field, its key there, its pointer


def _legacy_fields(node: Any, pointer: str = "") -> Iterator[Field]:
    """Every ``image`` of an item of a ``containers`` or ``initContainers`` list, in kyaml's order (a
    field's value is walked before the field itself is looked at)."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{pointer}/{_escape(key)}"
            yield from _legacy_fields(value, here)
            if key in CONTAINER_LISTS and isinstance(value, list):
                for index, item in enumerate(value):
                    if isinstance(item, dict) and "image" in item:
                        yield item, "image", f"{here}/{index}/image"
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _legacy_fields(item, f"{pointer}/{index}")


def _spec_fields(obj: Mapping[str, Any]) -> Iterator[Field]:
    for to_list, within in FIELD_SPECS:
        node: Any = obj
        for key in to_list:
            node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, list):
            continue
        base = "/" + "/".join(to_list)
        for index, item in enumerate(node):
            parent: Any = item
            for key in within[:-1]:
                parent = parent.get(key) if isinstance(parent, dict) else None
            if isinstance(parent, dict) and within[-1] in parent:
                yield parent, within[-1], f"{base}/{index}/{'/'.join(within)}"


def _escape(key: str) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def apply_images(obj: dict[str, Any], rules: Sequence[ImageRule]) -> list[str]:
    """Update ``obj`` (the caller's) in place, each rule in turn; the pointers of the fields changed."""
    changed: list[str] = []
    if obj.get("kind") == "CustomResourceDefinition":
        return changed
    for rule in rules:
        for fields in (_legacy_fields(obj), _spec_fields(obj)):
            for parent, key, pointer in list(fields):
                value = parent[key]
                if isinstance(value, (dict, list)):
                    raise NotText(pointer)
                if not isinstance(value, str):
                    continue  # a number or null names no image
                new = updated(value, rule)
                if new != value:
                    parent[key] = new
                    changed.append(pointer)
    return changed


def image_fields(obj: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Every field ``images:`` may change in ``obj``, with its value (for checks and ``explain``)."""
    if obj.get("kind") == "CustomResourceDefinition":
        return []
    seen: dict[str, Any] = {}
    for parent, key, pointer in (*_legacy_fields(obj), *_spec_fields(obj)):
        seen.setdefault(pointer, parent[key])
    return list(seen.items())


def is_image_field(pointer: str) -> bool:
    """Whether ``images:`` may write the field at ``pointer`` (a JSON Pointer into an object)."""
    tokens = pointer.split("/")[1:]
    if len(tokens) >= 3 and tokens[-1] == "image" and tokens[-3] in CONTAINER_LISTS and tokens[-2].isdigit():
        return True
    return any(
        tokens == [*to_list, tokens[len(to_list)], *within] and tokens[len(to_list)].isdigit()
        for to_list, within in FIELD_SPECS
        if len(tokens) == len(to_list) + 1 + len(within)
    )
