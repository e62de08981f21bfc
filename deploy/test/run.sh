#!/usr/bin/env bash
# Renders the Helm chart for every values variant and checks the result:
# helm lint, Kubernetes schema validation (strict, the schemas bundled in
# the PyPI package kubernetes-validate), Pod Security "restricted" and
# NetworkPolicies (check_manifests.py); values that must be refused are
# refused with their reason; the plain example passes the same checks.
# Nothing is downloaded at run time: helm and the validator come from the
# Go module proxy and PyPI before this runs (make deploy-test).
#
# Usage: HELM=path/to/helm PYTHON=python3 deploy/test/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

HELM=${HELM:?set HELM to the helm binary (make deploy-test builds it)}
PYTHON=${PYTHON:-python3}
# No __pycache__ left in the work tree.
export PYTHONDONTWRITEBYTECODE=1
CHART=deploy/helm/cofre
# The oldest Kubernetes the chart supports and the newest schema bundled.
KUBE_VERSIONS=${KUBE_VERSIONS:-"1.29.0 1.37.0"}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }

render() { # render NAME VARIANT [helm args…]
  local name=$1 variant=$2
  shift 2
  "$HELM" template cofre "$CHART" --namespace cofre --kube-version "${KUBE_VERSIONS##* }" "$@" >"$out/$name.yaml"
}

check() { # check NAME VARIANT FILE
  local name=$1 variant=$2 file=$3 v
  for v in $KUBE_VERSIONS; do
    if "$PYTHON" deploy/test/check_manifests.py --variant "$variant" --kube-version "$v" "$file"; then
      ok "$name: schema $v, pod security, network policies"
    else
      bad "$name: schema $v, pod security, network policies"
    fi
  done
}

echo "== helm $("$HELM" version --short)"

# Every variant in the chart's ci/ directory, and the defaults (sim, dev).
for values in "$CHART"/ci/*-values.yaml; do
  variant=$(basename "$values" -values.yaml)
  if "$HELM" lint --strict --quiet --kube-version "${KUBE_VERSIONS##* }" "$CHART" -f "$values" >"$out/lint.txt" 2>&1; then
    ok "$variant: helm lint"
  else
    cat "$out/lint.txt"
    bad "$variant: helm lint"
  fi
  if render "$variant" "$variant" -f "$values"; then
    ok "$variant: helm template"
    check "$variant" "$variant" "$out/$variant.yaml"
  else
    bad "$variant: helm template"
  fi
done
if render default sim; then
  ok "default values: helm template"
  check "default values" sim "$out/default.yaml"
else
  bad "default values: helm template"
fi

# The agent fixture of the checker's tests is what the chart renders.
if "$PYTHON" - "$out/sim.yaml" deploy/test/testdata/sim-agent.yaml <<'EOF'; then
import sys, yaml
rendered = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d
            and d["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "agent"]
fixture = [d for d in yaml.safe_load_all(open(sys.argv[2])) if d]
sys.exit(0 if rendered == fixture else 1)
EOF
  ok "testdata/sim-agent.yaml matches the rendered agent"
else
  bad "testdata/sim-agent.yaml differs from the rendered agent: regenerate it (see its header)"
fi

# The plain example (SEV-SNP) is fully restricted.
check "deploy/k8s/example-workload.yaml" sevsnp deploy/k8s/example-workload.yaml

# Spark's pod templates: schema only. sealfs needs FUSE in the pod
# (CAP_SYS_ADMIN, /dev/fuse), which Pod Security "restricted" forbids; the
# templates say why (deploy/spark/).
for tmpl in deploy/spark/*-pod-template.yaml; do
  for v in $KUBE_VERSIONS; do
    if "$PYTHON" -m kubernetes_validate --strict --quiet -k "$v" "$tmpl" >"$out/spark.txt" 2>&1; then
      ok "$tmpl: schema $v"
    else
      cat "$out/spark.txt"
      bad "$tmpl: schema $v"
    fi
  done
done
# …and the check catches a misspelled field.
sed 's/automountServiceAccountToken:/automountServiceAccountTokens:/' deploy/spark/executor-pod-template.yaml >"$out/bad-template.yaml"
if "$PYTHON" -m kubernetes_validate --strict --quiet -k "${KUBE_VERSIONS##* }" "$out/bad-template.yaml" >/dev/null 2>&1; then
  bad "a pod template with an unknown field passed the schema check"
else
  ok "a pod template with an unknown field is refused"
fi

# Values the chart must refuse, each with its reason.
refuse() { # refuse DESCRIPTION EXPECTED-MESSAGE helm-args…
  local desc=$1 want=$2
  shift 2
  if "$HELM" template cofre "$CHART" --namespace cofre --kube-version "${KUBE_VERSIONS##* }" "$@" >"$out/refused.yaml" 2>"$out/refused.txt"; then
    bad "refuses $desc: rendered"
  elif grep -qF -- "$want" "$out/refused.txt"; then
    ok "refuses $desc"
  else
    cat "$out/refused.txt"
    bad "refuses $desc: wrong reason, want \"$want\""
  fi
}
prod=(-f "$CHART/ci/sevsnp-values.yaml")
refuse "an unknown tee" "at '/tee': value must be one of" --set tee=tpm
refuse "sim outside dev" "tee sim needs dev: true" --set dev=false
refuse "production without a sealing key" "coordinator.keyFileSecret is required" "${prod[@]}" --set coordinator.keyFileSecret=
refuse "a sim sealer in production" "coordinator.sealer sim needs dev: true" "${prod[@]}" --set coordinator.sealer=sim
refuse "production without owners" "coordinator.admitOwners is required in production" "${prod[@]}" --set coordinator.admitOwners.keys=null --set coordinator.admitOwners.secret=
refuse "owners from two sources" "set configMap or secret, not both" "${prod[@]}" --set coordinator.admitOwners.configMap=x
refuse "attestd without TLS in production" "attestd.tlsSecret is required" "${prod[@]}" --set attestd.tlsSecret=
refuse "attestd without a KEK in production" "attestd.kekSecret is required" "${prod[@]}" --set attestd.kekSecret=
refuse "attestd without an admin CA in production" "attestd.adminCAConfigMap is required" "${prod[@]}" --set attestd.adminCAConfigMap=
refuse "no sim platform Secret" "sim.secretName is required" --set sim.secretName=
refuse "a workload without a pinned root in production" "example.coordinatorRootConfigMap is required" "${prod[@]}" --set example.coordinatorRootConfigMap=
refuse "a malformed image digest" "at '/image/digest'" --set image.digest=latest

# The checker's own tests: each check refuses what it must.
if "$PYTHON" -m unittest discover -s deploy/test -p 'test_*.py' >"$out/unittest.txt" 2>&1; then
  ok "check_manifests unit tests ($(grep -o 'Ran [0-9]* tests' "$out/unittest.txt"))"
else
  cat "$out/unittest.txt"
  bad "check_manifests unit tests"
fi

echo "deploy-test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
