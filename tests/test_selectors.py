from __future__ import annotations

import pytest

from fanout.core.selectors import SelectorSyntaxError, from_label_selector, parse

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
