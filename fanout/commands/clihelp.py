"""The examples each command's --help ends with (kept here so that cli.py stays about arguments)."""

from __future__ import annotations

# Click rewraps epilog text; "\b" on its own line keeps the next paragraph's lines as written.
EXAMPLES_MAIN = """\b
Examples:
  fanout render                      render the source root found from here upwards
  fanout validate --kubernetes --strict
  fanout clusters -o json | jq -r '.clusters[].name'
  fanout diff --base main -o markdown
  fanout --error-format github render --check   annotations on the pull request

Exit codes: 0 done, 1 the input is invalid, 2 wrong usage, 3 the output is stale
or differs (--check, --fail-on-change, diff --exit-code), 70 a bug in fanout.
See docs/cli.md for every code, format and environment variable."""

EXAMPLES_RENDER = """\b
Examples:
  fanout render sample-repo
  fanout render --check                        exit 3 and list what is stale
  fanout render --check -o json | jq '.files'
  fanout render --check --trusted-base origin/main
  fanout render -c aws-us-east-1 -l env=prod   only these clusters' folders
  fanout render --ref HEAD~1 --output-dir /tmp/before"""

EXAMPLES_VALIDATE = """\b
Examples:
  fanout validate sample-repo
  fanout validate -o json
  fanout validate --kubernetes --strict -o junit > schema.xml"""

EXAMPLES_CLUSTERS = """\b
Examples:
  fanout clusters sample-repo
  fanout clusters -o json | jq -c '[.clusters[].name]'   a CI matrix
  fanout clusters --matrix"""

EXAMPLES_PUBLISH = """\b
Examples:
  fanout publish --branch rendered --push
  fanout publish --per-cluster-branch 'environment/{cluster}-next' --hydrator-metadata --push
  fanout publish --from-dir combined/ --branch rendered --push"""

EXAMPLES_DIFF = """\b
Examples:
  fanout diff --clusters gcp-us-central1 gcp-us-central1-dev sample-repo
  fanout diff --base main                       what this branch changes, per cluster
  fanout diff --base main -o json | jq '.summary'"""

EXAMPLES_PR_REPORT = """\b
Examples (in a GitHub Actions job; the action.yml at fanout's top runs it):
  fanout --error-format github pr-report --base origin/main
  fanout pr-report deploy/ --base origin/main --comment --no-fail-on-stale"""

EXAMPLES_EXPLAIN = """\b
Examples:
  fanout explain aws-us-east-1 deployment/pacman -n pacman sample-repo
  fanout explain aws-us-east-1 deployment/pacman -n pacman --field /spec/replicas
  fanout explain aws-us-east-1 deployment/pacman -n pacman -o json"""

EXAMPLES_FEDERATE = """\b
Examples:
  kubectl get deploy,svc -n shop -o yaml > exported.yaml
  fanout federate exported.yaml --output-dir templates/shop"""

EXAMPLES_INIT = """\b
Examples:
  fanout init platform && fanout render platform
  fanout init                                   here, when the folder holds none of its files"""

EXAMPLES_SCHEMA = """\b
Examples:
  fanout schema > fanout.schema.json            any fanout document, chosen by apiVersion and kind
  fanout schema Override                        one kind's schema
  fanout schema --output-dir .fanout/schemas    refresh the copies fanout init wrote
  check-jsonschema --schemafile fanout.schema.json clusters/prod.yaml"""

EXAMPLES_IMPORT = """\b
Examples:
  fanout import clusters/* --output-dir platform          a folder per cluster
  fanout import rendered --layout clusters --labels labels.yaml --output-dir platform
  fanout import deploy --layout clusters --ref origin/rendered --output-dir platform"""
