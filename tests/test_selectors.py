from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fanout.core.document import Document
from fanout.core.model import Cluster, LabelGroups, Override, Patch, Placement
from fanout.core.selectors import Requirement, Selector, SelectorSyntaxError, from_label_selector, parse

LABELS = {"env": "prod", "region": "eu", "tier": "web"}


@pytest.mark.parametrize(
    ("expression", "matches"),
    [
        ("env=prod", True),
        ("env==prod", True),
        ("env!=prod", False),
        ("env!=dev", True),
        ("missing!=x", True),  # as in Kubernetes: an absent label is "not equal"
        ("region in (eu, us)", True),
        ("region notin (eu,us)", False),
        ("missing notin (a)", True),
        ("tier", True),
        ("!tier", False),
        ("!legacy", True),
        ("env=prod,region in (us),tier", False),
        ("env=prod, region in (eu,us), !legacy", True),
        ("example.com/team=", False),
    ],
)
def test_kubectl_syntax(expression: str, matches: bool) -> None:
    assert parse(expression).matches(LABELS) is matches


@pytest.mark.parametrize("expression", ["", " ", "env=prod,", "a b", "env in ()", "env in (a b)", "=x"])
def test_syntax_errors(expression: str) -> None:
    with pytest.raises(SelectorSyntaxError):
        parse(expression)


def test_round_trip_to_text() -> None:
    text = "env=prod,tier!=canary,region in (eu,us),region notin (ap,sa),legacy,!old"
    assert str(parse(text)) == text
    assert str(parse("a=b").__class__()) == "(everything)"


def test_structured_selector() -> None:
    selector = from_label_selector(
        {
            "matchLabels": {"env": "prod"},
            "matchExpressions": [{"key": "region", "operator": "In", "values": ["eu"]}],
        }
    )
    assert selector.matches(LABELS)
    assert [str(r) for r in selector.failing({"env": "dev"})] == ["env=prod", "region=eu"]
    assert from_label_selector({}).matches({})


@pytest.mark.parametrize(
    "expression",
    [
        {"key": "a", "operator": "In", "values": []},
        {"key": "a", "operator": "Exists", "values": ["x"]},
    ],
)
def test_structured_selector_errors(expression: dict[str, object]) -> None:
    with pytest.raises(SelectorSyntaxError):
        from_label_selector({"matchExpressions": [expression]})


_DOC = Document("c.yaml", 0, {}, {})
_NAMES = st.sampled_from([f"c{i}" for i in range(8)])
_LABELS = st.dictionaries(
    st.sampled_from(["env", "cloud", "n"]), st.sampled_from(["a", "b", "1", "7"]), max_size=3
)
_REQUIREMENT = st.builds(
    Requirement,
    st.sampled_from(["env", "cloud", "n"]),
    st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]),
    st.lists(st.sampled_from(["a", "b", "1", "5"]), min_size=1, max_size=2).map(tuple),
)
_SELECTOR = st.one_of(st.none(), st.lists(_REQUIREMENT, max_size=3).map(lambda r: Selector(tuple(r))))
_NAMED = st.one_of(st.none(), st.lists(_NAMES, max_size=4).map(tuple))


@settings(max_examples=300, deadline=None)
@given(
    clusters=st.dictionaries(_NAMES, _LABELS, max_size=8),
    names=_NAMED,
    selector=_SELECTOR,
    everywhere=st.booleans(),
    names_decide=st.booleans(),
)
def test_selected_takes_the_clusters_selects_takes(
    clusters: dict[str, dict[str, str]],
    names: tuple[str, ...] | None,
    selector: Selector | None,
    everywhere: bool,
    names_decide: bool,
) -> None:
    """Worked out per distinct set of labels, a placement or an override picks exactly the clusters it picks
    one by one (``render.place`` plans with ``selected``; ``explain`` asks ``selects``)."""
    inventory = [Cluster(name, labels, {}, _DOC) for name, labels in clusters.items()]
    groups = LabelGroups(inventory)
    placement = Placement("/spec/placement", names, selector, everywhere, names_decide)
    assert placement.selected(groups) == {c.name for c in inventory if placement.selects(c)}
    override = Override(_DOC, "o", names or (), selector, (), 0, Patch("o", "o", _DOC, ()))
    assert override.selected(groups) == {c.name for c in inventory if override.selects(c)}
