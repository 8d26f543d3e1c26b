#!/usr/bin/env bash
# Runs functions of Kubernetes' kubectl command tests (test/cmd/*.sh in a kubernetes checkout)
# against an already running kitfed API server or sandbox cluster, and prints PASS/FAIL per function.
# kitfed's own stand-in for what upstream's hack/lib and legacy-script.sh setup provide (a kubeconfig
# context "test", kube_flags, create_and_use_new_namespace, the kube::test:: assertions); nothing of
# the checkout is copied. See docs/compatibility.md.
#
# Usage: KUBE_ROOT=<kubernetes checkout> test/kube-cmd/harness.sh <server-url> <token> <suite> <function>...
#   e.g. KUBE_ROOT=/tmp/k8s test/kube-cmd/harness.sh https://127.0.0.1:6443 admin-token \
#          test/cmd/discovery.sh run_kubectl_explain_tests run_swagger_tests
set -o nounset
SERVER=$1 TOKEN=$2 SUITE=$3; shift 3
KUBE_ROOT=${KUBE_ROOT:?set KUBE_ROOT to a kubernetes checkout (test/cmd, hack/testdata, test/fixtures)}
cd "$KUBE_ROOT"
export KUBE_TEMP=$(mktemp -d /tmp/k8s-run.XXXX)
export HOME=$KUBE_TEMP KUBECONFIG=$KUBE_TEMP/kubeconfig KUBECTL_KUBERC=false LANG=C
SECURE_API_PORT=${SERVER##*:}
CONTEXT=test
kubectl config set-credentials test-admin --token "$TOKEN" >/dev/null
kubectl config set-cluster local --insecure-skip-tls-verify --server "$SERVER" >/dev/null
kubectl config set-context "$CONTEXT" --user test-admin --cluster local >/dev/null
kubectl config use-context "$CONTEXT" >/dev/null
kube_flags=( -s "$SERVER" --insecure-skip-tls-verify )
export id_field=".metadata.name" labels_field=".metadata.labels"
# The images the suites name (never pulled: nothing runs in kitfed).
export IMAGE_NGINX="k8s.gcr.io/nginx:1.7.9" IMAGE_PERL="k8s.gcr.io/perl" IMAGE_PAUSE_V2="k8s.gcr.io/pause:2.0"
kube::log::status() { echo "+++ $*"; }
kube::log::error_exit() { echo "!!! $1"; exit "${2:-1}"; }
kube::test::if_supports_resource() { [[ "${SUPPORTED_RESOURCES:-*}" == "*" || ",$SUPPORTED_RESOURCES," == *",$1,"* ]]; }
create_and_use_new_namespace() {
  local ns="namespace-$(date +%s)-${RANDOM}"
  kubectl create namespace "$ns" && kubectl config set-context "$CONTEXT" --namespace="$ns"
}
kube::test::get_object_assert() {
  local object=$1 request=$2 expected=$3; shift 3
  local res
  # Suites of different eras quote templates for an eval (\"name\") or not ("name"): accept both.
  # shellcheck disable=SC2086 # $object carries flags, as upstream's
  if [[ "$request" == *'\"'* ]]; then
    res=$(eval kubectl get "${kube_flags[@]:-}" "$@" "$object" -o go-template=\""$request"\")
  else
    res=$(kubectl get "${kube_flags[@]}" "$@" $object -o go-template="$request")
  fi
  if [[ "$res" =~ ^$expected$ ]]; then echo "PASS get $object: $res"; return 0; fi
  echo "FAIL get $object: got '$res', expected '$expected'"; return 1
}
kube::test::wait_object_assert() {
  local i
  for i in 1 2 3 4 5 6 7 8 9 10; do
    kube::test::get_object_assert "$@" && return 0
    sleep "$i"
  done
  return 1
}
kube::test::if_has_string() {
  if grep -q "$2" <<<"$1"; then echo "PASS has '$2'"; return 0; fi
  echo "FAIL: '$1' lacks '$2'"; return 1
}
kube::test::if_has_not_string() {
  if grep -q "$2" <<<"$1"; then echo "FAIL: '$1' has '$2'"; return 1; fi
  echo "PASS has not '$2'"; return 0
}
# kubectl describe lists the resource and each additional one in chunks (limit=500 by default, --chunk-size).
kube::test::describe_resource_chunk_size_assert() {
  local resource=$1 additional=${2:-} log r size
  shift 2 || shift
  for size in 500 10; do
    local flags=(--show-events=true -v=6)
    [[ $size == 10 ]] && flags+=(--chunk-size=10)
    log=$(kubectl describe "$resource" "${flags[@]}" "$@" "${kube_flags[@]}" 2>&1)
    for r in "$resource" ${additional//,/ }; do
      if ! grep -Eq "GET .*/${r}\?[^ ]*limit=${size}" <<<"$log"; then
        echo "FAIL describe $resource: no chunked ($size) list of $r"; grep -E "GET " <<<"$log" | head -5; return 1
      fi
    done
  done
  echo "PASS describe $resource chunked"
}
source "$SUITE"
set +o errexit
results=()
for fn in "$@"; do
  echo "=== $fn"
  # Each function in a subshell with errexit, as upstream's record_command runs them.
  ( set -o errexit; "$fn" ) >"$KUBE_TEMP/$fn.log" 2>&1
  rc=$?
  tail -n 15 "$KUBE_TEMP/$fn.log" | sed 's/^/    /'
  results+=("$([[ $rc == 0 ]] && echo PASS || echo FAIL) $fn")
done
printf '%s\n' "${results[@]}"
rm -rf "$KUBE_TEMP"
