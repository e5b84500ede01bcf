"""``.helmignore`` as Helm's directory loader reads it: Helm's own test vectors, then charts whose ignored
files fanout used to render (it loads every chart from an archive, where Helm reads no ``.helmignore``)."""

from __future__ import annotations

import pytest

from fanout.formats.helmignore import BadRule, Rules

# helm/helm e9b85e4de16ad45805843fb121748018cf89094b, pkg/ignore/rules_test.go ``TestIgnore``: (pattern, name,
# whether it is a folder in the test's fixtures, ignored).
HELM_VECTORS = [
    ("helm.txt", "helm.txt", False, True),
    ("helm.*", "helm.txt", False, True),
    ("helm.*", "rudder.txt", False, False),
    ("*.txt", "tiller.txt", False, True),
    ("*.txt", "cargo/a.txt", False, True),
    ("cargo/*.txt", "cargo/a.txt", False, True),
    ("cargo/*.*", "cargo/a.txt", False, True),
    ("cargo/*.txt", "mast/a.txt", False, False),
    ("ru[c-e]?er.txt", "rudder.txt", False, True),
    ("templates/.?*", "templates/.dotfile", False, True),
    (".*", ".", True, False),
    (".*", "./", True, False),
    (".*", ".joonix", False, True),
    (".*", "helm.txt", False, False),
    (".*", "", True, False),
    ("cargo/", "cargo", True, True),
    ("cargo/", "cargo/", True, True),
    ("cargo/", "mast/", True, False),
    ("helm.txt/", "helm.txt", False, False),
    ("!helm.txt", "helm.txt", False, False),
    ("!helm.txt", "tiller.txt", False, True),
    ("!*.txt", "cargo", True, True),
    ("!cargo/", "mast/", True, True),
    ("/a.txt", "a.txt", False, True),
    ("/a.txt", "cargo/a.txt", False, False),
    ("/cargo/a.txt", "cargo/a.txt", False, True),
]


@pytest.mark.parametrize(("pattern", "name", "is_dir", "ignored"), HELM_VECTORS)
def test_helms_own_vectors(pattern: str, name: str, is_dir: bool, ignored: bool) -> None:
    assert Rules(pattern).ignores(name, is_dir) is ignored


@pytest.mark.parametrize("rule", ["foo/**/bar", "[z-", "[]a]", "a\\", "[^]a]", "x[a"])
def test_rules_helm_refuses(rule: str) -> None:
    with pytest.raises(BadRule, match="line 2: "):
        Rules(f"# a comment\n{rule}\n")


def test_go_globs_stop_at_a_slash_and_the_walk_skips_ignored_folders() -> None:
    rules = Rules("\ufeff# from a chart\n  *.orig  \ncrds/kustomization.yaml\ntemplates/*\n!keep.yaml\n")
    paths = [
        "Chart.yaml",
        "crds/kustomization.yaml",
        "crds/widgets.yaml",
        "templates/a.yaml",
        "templates/b.yaml.orig",
        "templates/sub/c.yaml",
        "templates/.swp",
        "keep.yaml",
    ]
    # `templates/*` takes templates/sub as a folder, and the walk never enters it; `!keep.yaml` is a
    # negated rule, which in Helm ends the evaluation of every other path with "ignored".
    assert rules.kept(paths) == ["keep.yaml"]
    assert Rules("templates/*.yaml\n").kept(paths) == [
        "Chart.yaml",
        "crds/kustomization.yaml",
        "crds/widgets.yaml",
        "templates/b.yaml.orig",
        "templates/sub/c.yaml",
        "keep.yaml",
    ]
    assert Rules("").kept(paths) == [p for p in paths if p != "templates/.swp"]  # Helm's default rule
    assert Rules("[^a]*.yaml\n").ignores("x/a.yaml", False) is False  # the last part only
    assert Rules("c[^a]t/\n").ignores("c/t", True) is False  # `*` and `?` never match a slash ...
    assert Rules("/c[^a]t\n").ignores("c/t", False) is True  # ... but a [^...] class does, as in Go
    # A backwards range is no error in Go: it matches nothing.
    assert Rules("x[b-a]\n").ignores("xa", False) is False
    assert Rules("x[^b-a]\n").ignores("xa", False) is True
    assert Rules("x[b-ac]\n").ignores("xc", False) is True


def test_a_folder_rule_skips_folders_of_that_name_anywhere_but_no_file() -> None:
    paths = ["cargo/a.txt", "cargoes/a.txt", "mast/cargo", "mast/cargo/b.txt"]
    assert Rules("cargo/\n").kept(paths) == ["cargoes/a.txt", "mast/cargo"]
