"""``fanout federate``: plain manifests to KubeFed federated objects, as ``kubefedctl federate`` did."""

from __future__ import annotations

import copy
import io
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from fanout.commands.federate import federate_command
from fanout.core.errors import FanoutError
from fanout.importer.federate import check, federate


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


SERVICE: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {
        "name": "pacman",
        "namespace": "pacman",
        "uid": "1f0c",
        "resourceVersion": "812",
        "creationTimestamp": "2024-01-01T00:00:00Z",
        "managedFields": [{"manager": "kubectl"}],
        "labels": {"app": "pacman"},
        "annotations": {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"},
    },
    "spec": {
        "type": "LoadBalancer",
        "clusterIP": "10.0.3.7",
        "clusterIPs": ["10.0.3.7"],
        "selector": {"app": "pacman"},
        "ports": [
            {"name": "http", "port": 80, "targetPort": 8080, "nodePort": 31080},
            {"name": "metrics", "port": 9090, "nodePort": 31090},
        ],
    },
    "status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}},
}


class TestFederate:
    def test_service(self) -> None:
        assert federate(SERVICE) == {
            "apiVersion": "types.kubefed.io/v1beta1",
            "kind": "FederatedService",
            "metadata": {"name": "pacman", "namespace": "pacman"},
            "spec": {
                "template": {
                    # As kubefedctl: only labels; KubeFed did not propagate a template's annotations.
                    "metadata": {"labels": {"app": "pacman"}},
                    "spec": {
                        "type": "LoadBalancer",
                        "selector": {"app": "pacman"},
                        "ports": [
                            {"name": "http", "port": 80, "targetPort": 8080},
                            {"name": "metrics", "port": 9090},
                        ],
                    },
                },
                "placement": {"clusterSelector": {}},
            },
        }

    def test_input_is_not_modified(self) -> None:
        before = copy.deepcopy(SERVICE)
        federate(SERVICE)
        assert before == SERVICE

    def test_keys_keep_their_order(self) -> None:
        template = federate(SERVICE)["spec"]["template"]
        assert list(template["spec"]) == ["type", "selector", "ports"]
        assert list(federate(SERVICE)) == ["apiVersion", "kind", "metadata", "spec"]

    def test_headless_service_keeps_cluster_ip_none(self) -> None:
        headless = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "mongo", "namespace": "pacman"},
            "spec": {"clusterIP": "None", "clusterIPs": ["None"], "ports": [{"port": 27017}]},
        }
        spec = federate(headless)["spec"]["template"]["spec"]
        assert spec["clusterIP"] == "None"
        assert spec["clusterIPs"] == ["None"]

    def test_service_account_secrets(self) -> None:
        sa = {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "robot", "namespace": "ci"},
            "secrets": [{"name": "robot-token-x7"}],
            "automountServiceAccountToken": False,
        }
        assert federate(sa)["spec"]["template"] == {"automountServiceAccountToken": False}

    def test_namespace_lives_in_itself_and_loses_finalizers(self) -> None:
        ns = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "pacman", "labels": {"team": "games"}},
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        }
        fed = federate(ns)
        assert fed["kind"] == "FederatedNamespace"
        assert fed["metadata"] == {"name": "pacman", "namespace": "pacman"}
        assert fed["spec"]["template"] == {"metadata": {"labels": {"team": "games"}}}

    def test_cluster_scoped_object_has_no_namespace(self) -> None:
        role = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "reader"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}],
        }
        fed = federate(role)
        assert fed["metadata"] == {"name": "reader"}
        assert fed["spec"]["template"] == {"rules": role["rules"]}

    def test_pod_template_is_left_as_written(self) -> None:
        deploy = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "generation": 4},
            "spec": {
                "replicas": 3,
                "template": {
                    "metadata": {"creationTimestamp": None, "labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]},
                },
            },
        }
        template = federate(deploy)["spec"]["template"]
        assert "metadata" not in template
        assert template["spec"] == deploy["spec"]

    def test_only_core_kinds_get_special_treatment(self) -> None:
        knative = {
            "apiVersion": "serving.knative.dev/v1",
            "kind": "Service",
            "metadata": {"name": "hello", "namespace": "default"},
            "spec": {"clusterIP": "kept-because-not-core"},
        }
        assert federate(knative)["spec"]["template"]["spec"] == {"clusterIP": "kept-because-not-core"}

    def test_custom_resource(self) -> None:
        bar = {
            "apiVersion": "example.io/v1",
            "kind": "Bar",
            "metadata": {"name": "b", "namespace": "x"},
            "data": 1,
        }
        fed = federate(bar)
        assert fed["kind"] == "FederatedBar"
        assert fed["spec"]["template"] == {"data": 1}


class TestCheck:
    def test_valid(self) -> None:
        assert check(SERVICE) == []

    def test_not_a_mapping(self) -> None:
        assert [i.pointer for i in check(["a"])] == [""]

    def test_missing_fields(self) -> None:
        messages = [i.message for i in check({"metadata": {"generateName": "job-"}})]
        assert "missing apiVersion" in messages
        assert "missing kind" in messages
        assert any("generateName cannot be federated" in m for m in messages)

    def test_already_federated(self) -> None:
        issues = check(federate(SERVICE))
        assert [(i.pointer, i.message) for i in issues] == [
            ("/kind", "FederatedService is already a KubeFed federated object")
        ]


class TestCommand:
    def test_one_output_file_per_input(self, tmp_path: Path) -> None:
        a = write(
            tmp_path / "in" / "app.yaml",
            """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: settings, namespace: shop}
            data:
              script.sh: |
                echo ${HOME}
            ---
            apiVersion: v1
            kind: Secret
            metadata: {name: creds, namespace: shop}
            stringData: {password: hunter2}
            """,
        )
        b = write(
            tmp_path / "in" / "sub" / "ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n"
        )
        out = tmp_path / "out"
        assert federate_command([a, b], out) == 0
        assert sorted(p.name for p in out.iterdir()) == ["app.yaml", "ns.yaml"]
        docs = list(yaml.safe_load_all((out / "app.yaml").read_text()))
        assert [d["kind"] for d in docs] == ["FederatedConfigMap", "FederatedSecret"]
        assert docs[0]["spec"]["template"]["data"] == {"script.sh": "echo ${HOME}\n"}
        assert "script.sh: |" in (out / "app.yaml").read_text()  # readable block, not an escaped line
        assert yaml.safe_load((out / "ns.yaml").read_text())["kind"] == "FederatedNamespace"

    def test_deterministic(self, tmp_path: Path) -> None:
        src = write(tmp_path / "svc.yaml", yaml.safe_dump(SERVICE, sort_keys=False))
        federate_command([src], tmp_path / "one")
        federate_command([src], tmp_path / "two")
        assert (tmp_path / "one" / "svc.yaml").read_bytes() == (tmp_path / "two" / "svc.yaml").read_bytes()

    def test_stdout_without_out(self, tmp_path: Path) -> None:
        a = write(tmp_path / "a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
        b = write(tmp_path / "b.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n")
        buffer = io.StringIO()
        assert federate_command([a, b], None, stdout=buffer) == 0
        docs = list(yaml.safe_load_all(buffer.getvalue()))
        assert [d["metadata"]["name"] for d in docs] == ["a", "b"]

    def test_list_items_are_expanded(self, tmp_path: Path) -> None:
        src = write(
            tmp_path / "export.yaml",
            """
            apiVersion: v1
            kind: List
            items:
            - apiVersion: v1
              kind: ConfigMap
              metadata: {name: one, namespace: x}
            - apiVersion: v1
              kind: ConfigMap
              metadata: {name: two, namespace: x}
            """,
        )
        buffer = io.StringIO()
        federate_command([src], None, stdout=buffer)
        assert [d["metadata"]["name"] for d in yaml.safe_load_all(buffer.getvalue())] == ["one", "two"]

    def test_unparsable_yaml_has_file_line_column(self, tmp_path: Path) -> None:
        bad = write(tmp_path / "bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [x\n")
        with pytest.raises(FanoutError) as err:
            federate_command([bad], tmp_path / "out")
        (problem,) = err.value.problems
        assert problem.location is not None
        assert (problem.location.path, problem.location.line) == (str(bad), 4)
        assert str(problem).startswith(f"{bad}:4:")
        assert "invalid YAML" in problem.message

    def test_every_problem_in_every_file_and_nothing_written(self, tmp_path: Path) -> None:
        good = write(tmp_path / "good.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n")
        dup = write(
            tmp_path / "dup.yaml", "apiVersion: v1\nkind: ConfigMap\nkind: Secret\nmetadata: {name: d}\n"
        )
        noname = write(
            tmp_path / "noname.yaml",
            """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: fine}
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata:
              labels: {a: b}
            """,
        )
        tagged = write(
            tmp_path / "tagged.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: !!python/name:os {}\n"
        )
        out = tmp_path / "out"
        with pytest.raises(FanoutError) as err:
            federate_command([good, dup, noname, tagged], out)
        lines = [str(p) for p in err.value.problems]
        assert f"{dup}:3:1: duplicate key 'kind' (first defined on line 2)" in lines
        assert f"{noname}:7:1: missing metadata.name" in lines
        assert any(line.startswith(f"{tagged}:3:11: YAML tag") for line in lines)
        assert not out.exists()

    def test_missing_input_file(self, tmp_path: Path) -> None:
        with pytest.raises(FanoutError, match="cannot read file"):
            federate_command([tmp_path / "nope.yaml"], None, stdout=io.StringIO())

    def test_refuses_to_overwrite_an_input(self, tmp_path: Path) -> None:
        src = write(tmp_path / "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
        with pytest.raises(FanoutError, match="would overwrite an input file"):
            federate_command([src], tmp_path)
        assert yaml.safe_load(src.read_text())["kind"] == "ConfigMap"

    def test_same_file_name_twice_is_an_error(self, tmp_path: Path) -> None:
        a = write(tmp_path / "a" / "x.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
        b = write(tmp_path / "b" / "x.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n")
        with pytest.raises(FanoutError, match="would both be written"):
            federate_command([a, b], tmp_path / "out")
        assert not (tmp_path / "out").exists()


class TestSubstitutionEscapes:
    @pytest.mark.parametrize(
        ("written", "escaped"),
        [
            ("echo ${HOME}", "echo ${HOME}"),  # not a fanout reference: left as it is
            ("${cluster.name}", "$${cluster.name}"),
            ("make $${TARGET}", "make $$${TARGET}"),
            ("no dollar", "no dollar"),
        ],
    )
    def test_escaped_where_fanout_would_substitute(self, written: str, escaped: str) -> None:
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": written}}
        assert federate(cm)["spec"]["template"]["data"]["k"] == escaped


class TestCli:
    """``fanout federate`` through the real CLI, once the command is wired into fanout/cli.py."""

    @pytest.fixture(autouse=True)
    def _wired(self) -> None:
        from fanout.cli import app

        if "federate" not in {c.name or c.callback.__name__ for c in app.registered_commands if c.callback}:
            pytest.skip("fanout federate is not wired into the CLI yet")

    def test_stdout_and_out(self, tmp_path: Path) -> None:
        from typer.testing import CliRunner

        from fanout.cli import app

        src = write(tmp_path / "svc.yaml", yaml.safe_dump(SERVICE, sort_keys=False))
        printed = CliRunner().invoke(app, ["federate", str(src)])
        assert printed.exit_code == 0, printed.output
        assert yaml.safe_load(printed.stdout) == federate(SERVICE)
        written = CliRunner().invoke(app, ["federate", str(src), "--output-dir", str(tmp_path / "fed")])
        assert written.exit_code == 0, written.output
        assert (tmp_path / "fed" / "svc.yaml").read_text() == printed.stdout

    def test_errors_are_located(self, tmp_path: Path) -> None:
        from typer.testing import CliRunner

        from fanout.cli import app

        bad = write(tmp_path / "bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {labels: {}}\n")
        result = CliRunner().invoke(app, ["federate", str(bad)])
        assert result.exit_code == 1
        assert result.stderr.splitlines()[0] == f"{bad}:3:1: missing metadata.name"
        assert "Traceback" not in result.output


def test_run_prints_through_echo(tmp_path: Path) -> None:
    from fanout.commands.federate import run

    src = write(tmp_path / "svc.yaml", yaml.safe_dump(SERVICE, sort_keys=False))
    lines: list[str] = []
    notes: list[str] = []
    assert run([src], None, lines.append, notes.append) == 0
    assert yaml.safe_load(lines[0] + "\n") == federate(SERVICE)
    assert run([src], tmp_path / "fed", lines.append, notes.append) == 0
    assert lines[1] == f"fanout: federated 1 file into {tmp_path / 'fed'}"
    # What is not carried is said, located, once per run.
    assert (
        notes
        == [
            f"{src}:13:3: warning: annotations service.beta.kubernetes.io/aws-load-balancer-type are not carried:"
            " KubeFed did not propagate a template's annotations (set them with an Override)"
        ]
        * 2
    )
