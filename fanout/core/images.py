"""kustomize's ``images:`` entries: which image an entry names, and what it makes of it.

Followed from kustomize at commit 12f9e6391464b3ad9dd3fe8182049dc1b1772990: ``api/internal/image/image.go``
(``name`` is a regular expression, ``IsImageMatched``; an image is split into name, tag and digest after its
first ``/``, so a registry's port is not a tag) and ``api/filters/imagetag/updater.go`` (``newName``; then
``newTag`` and ``digest``, which both replace the tag and the digest, or ``tagSuffix`` appended to the tag).
Where in an object the images are is ``fanout.render.images``'s job.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

_TAIL = r"(:[a-zA-Z0-9_.{}-]*)?(@[a-zA-Z0-9]+([.+_-][a-zA-Z0-9]+)*:[a-zA-Z0-9_.{}-]*)?$"


class ImageRule(NamedTuple):
    """One entry of ``images:``, its fields as text."""

    name: str
    new_name: str = ""
    new_tag: str = ""
    digest: str = ""
    tag_suffix: str = ""

    @classmethod
    def of(cls, entry: Mapping[str, str]) -> ImageRule:
        return cls(
            entry["name"],
            entry.get("newName", ""),
            entry.get("newTag", ""),
            entry.get("digest", ""),
            entry.get("tagSuffix", ""),
        )


def expression_error(name: str) -> str | None:
    """Why ``name`` is no regular expression (kustomize v5.8.1 crashes on it, later ones match nothing)."""
    try:
        re.compile("^" + name + _TAIL)
    except re.error as exc:
        return str(exc)
    return None


def matches(image: str, name: str) -> bool:
    """``IsImageMatched``: ``name`` as a regular expression, then an optional tag and digest. A name that
    is not a valid expression matches nothing, as in kustomize."""
    try:
        pattern = re.compile("^" + name + _TAIL)
    except re.error:
        return False
    return pattern.fullmatch(image) is not None


def split(image: str) -> tuple[str, str, str]:
    """``Split``: (name, tag, digest), ":" and "@" looked for after the first "/" only."""
    slash = image.find("/")
    start = slash if slash > 0 else 0
    rest = image[start:]
    at, colon = rest.find("@"), rest.find(":")
    if colon < 0 and at < 0:
        return image, "", ""
    if at >= 0 and (at < colon or colon < 0):
        return image[: start + at], "", image[start + at + 1 :]
    if at >= 0 and colon >= 0:
        return image[: start + colon], image[start + colon + 1 : start + at], image[start + at + 1 :]
    return image[: start + colon], image[start + colon + 1 :], ""


def updated(image: str, rule: ImageRule) -> str:
    """The image ``rule`` makes of ``image`` (unchanged when it does not match)."""
    if not matches(image, rule.name):
        return image
    name, tag, digest = split(image)
    if rule.new_name:
        name = rule.new_name
    if rule.new_tag and rule.digest:
        tag, digest = rule.new_tag, rule.digest
    elif rule.new_tag:
        tag, digest = rule.new_tag, ""
    elif rule.digest:
        tag, digest = "", rule.digest
    elif rule.tag_suffix:
        tag, digest = tag + rule.tag_suffix, ""
    return name + (":" + tag if tag else "") + ("@" + digest if digest else "")


def could_write(rule: ImageRule, image: Any) -> bool:
    """Whether ``rule`` may have made ``image`` (what ``explain`` credits it with: the value before the
    patch is not kept, so a rule is taken for the writer when the image carries what it sets)."""
    if not isinstance(image, str) or not (rule.new_name or rule.new_tag or rule.digest or rule.tag_suffix):
        return False
    name, tag, digest = split(image)
    if rule.new_name:
        if name != rule.new_name:
            return False
    elif not matches(image, rule.name):
        return False
    if rule.new_tag or rule.digest:
        return (not rule.new_tag or tag == rule.new_tag) and (not rule.digest or digest == rule.digest)
    return not rule.tag_suffix or tag.endswith(rule.tag_suffix)
