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
# What upstream passes where a suite needs the token on the command line (CRDs, impersonation).
kube_flags_with_token=( -s "$SERVER" "--token=$TOKEN" --insecure-skip-tls-verify=true )
# Upstream's setup leaves the API server's serving certificate in $TMPDIR (kubeconfig.sh embeds it)
# and kubectl in $KUBE_OUTPUT_HOSTBIN.
# (Not under $KUBE_TEMP: kubectl would write paths under the kubeconfig's directory as relative ones.)
TMPDIR=$(mktemp -d /tmp/k8s-tmp.XXXX)
export TMPDIR KUBE_OUTPUT_HOSTBIN
KUBE_OUTPUT_HOSTBIN=$(dirname "$(command -v kubectl)")
if [[ "$SERVER" == https://* ]]; then
  hostport=${SERVER#https://}; hostport=${hostport%%/*}
  openssl s_client -connect "$hostport" </dev/null 2>/dev/null | openssl x509 >"$TMPDIR/apiserver.crt" 2>/dev/null
fi
# The go-template paths the suites assert on (the names upstream's runner exports).
export id_field=".metadata.name" labels_field=".metadata.labels" annotations_field=".metadata.annotations"
export generation_field=".metadata.generation" secret_data=".data" secret_type=".type"
export rs_replicas_field=".spec.replicas" statefulset_replicas_field=".spec.replicas" deployment_replicas=".spec.replicas"
export statefulset_observed_generation=".status.observedGeneration" template_labels=".spec.template.metadata.labels.name"
export port_field="(index .spec.ports 0).port" port_name="(index .spec.ports 0).name"
export pod_container_name_field="(index .spec.containers 0).name" image_field="(index .spec.containers 0).image"
export container_name_field="(index .spec.template.spec.containers 0).name"
export container_len="(len .spec.template.spec.containers)"
export image_field0="(index .spec.template.spec.containers 0).image"
export image_field1="(index .spec.template.spec.containers 1).image"
export hpa_min_field=".spec.minReplicas" hpa_max_field=".spec.maxReplicas"
export hpa_cpu_field="(index .spec.metrics 0).resource.target.averageUtilization"
export SED=sed
export change_cause_annotation='.*kubernetes.io/change-cause.*'
# The resource-type names the suites pass to if_supports_resource.
export pods=pods namespaces=namespaces configmaps=configmaps secrets=secrets serviceaccounts=serviceaccounts
export podtemplates=podtemplates deployments=deployments replicasets=replicasets statefulsets=statefulsets
export daemonsets=daemonsets controllerrevisions=controllerrevisions clusterroles=clusterroles roles=roles
export csr=csr horizontalpodautoscalers=horizontalpodautoscalers replicationcontrollers=replicationcontrollers
# The images the suites and their fixtures name, as of 1.32 (never pulled: nothing runs in kitfed).
export IMAGE_NGINX="registry.k8s.io/nginx:1.7.9" IMAGE_PERL="registry.k8s.io/perl"
export IMAGE_PAUSE_V2="registry.k8s.io/pause:2.0" IMAGE_DEPLOYMENT_R1="registry.k8s.io/nginx:test-cmd"
export IMAGE_DEPLOYMENT_R2="$IMAGE_NGINX" IMAGE_DAEMONSET_R2="registry.k8s.io/pause:latest"
export IMAGE_DAEMONSET_R2_2="registry.k8s.io/nginx:test-cmd"
export IMAGE_STATEFULSET_R1="registry.k8s.io/nginx-slim:0.7" IMAGE_STATEFULSET_R2="registry.k8s.io/nginx-slim:0.8"
kube::log::status() { echo "+++ $*"; }
kube::log::error() { echo "!!! $*" >&2; }
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
  # $object carries flags and shell quoting, as upstream's ('pods -l "tier=frontend"'): split it as the shell would.
  local -a objargs
  eval "objargs=($object)"
  if [[ "$request" == *'\"'* ]]; then
    res=$(eval kubectl get "${kube_flags[@]:-}" "$@" "$object" -o go-template=\""$request"\")
  else
    res=$(kubectl get "${kube_flags[@]}" "$@" "${objargs[@]}" -o go-template="$request")
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
kube::test::if_empty_string() {
  if [[ -z "$1" ]]; then echo "PASS empty"; return 0; fi
  echo "FAIL: '$1' is not empty"; return 1
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
# Waits (bounded) until the pods with label $1, sorted by name and concatenated, are exactly $2.
wait-for-pods-with-label() {
  local i got
  for i in 1 2 3 4 5 6 7 8 9 10; do
    got=$(kubectl get pods -l "$1" --sort-by metadata.name -o go-template='{{range.items}}{{.metadata.name}}{{end}}' \
      "${kube_flags[@]}")
    [[ "$got" == "$2" ]] && return 0
    echo "waiting for pods '$2' with label $1, have '$got'"
    sleep "$i"
  done
  kube::log::error_exit "pods with label $1 never became '$2'"
}
# kubectl, retried while the server answers a write conflict ("the object has been modified").
kubectl-with-retry() {
  local n err=$KUBE_TEMP/kubectl-with-retry.err
  for n in 1 2 4 8; do
    kubectl "$@" 2>"$err" || true
    grep -q 'the object has been modified' "$err" || { cat "$err" >&2; return 0; }
    sleep "$n"
  done
}
# kubectl describe of one object ($1 $2) or of every object of a resource ($1) prints each of the headings.
kube::test::describe_object_assert() {
  local out h; out=$(kubectl describe "${kube_flags[@]}" "$1" "$2"); shift 2
  for h in "$@"; do
    grep -q "$h" <<<"$out" || { echo "FAIL describe: no '$h' in"; echo "$out"; return 1; }
  done
  echo "PASS describe has: $*"
}
kube::test::describe_resource_assert() {
  local out h; out=$(kubectl describe "${kube_flags[@]}" "$1"); shift
  for h in "$@"; do
    grep -q "$h" <<<"$out" || { echo "FAIL describe: no '$h' in"; echo "$out"; return 1; }
  done
  echo "PASS describe has: $*"
}
# Events: shown by default and with --show-events=true, absent with --show-events=false.
kube::test::describe_events_check() {
  local out=$1 show=$2
  if [[ "$show" == false ]]; then
    grep -q 'Events:' <<<"$out" && { echo "FAIL describe shows events with --show-events=false"; return 1; }
  else
    grep -q 'Events:' <<<"$out" || { echo "FAIL describe shows no events"; return 1; }
  fi
  echo "PASS describe events (show-events=$show)"
}
kube::test::describe_object_events_assert() {
  local flag=() out; [[ -n "${3:-}" ]] && flag=("--show-events=$3")
  out=$(kubectl describe "${flag[@]}" "${kube_flags[@]}" "$1" "$2")
  kube::test::describe_events_check "$out" "${3:-true}"
}
kube::test::describe_resource_events_assert() {
  local flag=() out; [[ -n "${2:-}" ]] && flag=("--show-events=$2")
  out=$(kubectl describe "${flag[@]}" "${kube_flags[@]}" "$1")
  kube::test::describe_events_check "$out" "${2:-true}"
}
# kubectl get --sort-by: the names in the first column of $1, in order, joined with ':', contain $2.
kube::test::if_sort_by_has_correct_order() {
  local names
  names=$(awk 'NR > 1 { printf "%s:", $1 }' <<<"$1")
  if [[ "$names" == *"$2"* ]]; then echo "PASS sorted: $2"; return 0; fi
  echo "FAIL sorted: '$names' lacks '$2'"; return 1
}
# kubectl version: the "<Client|Server> Version:" value of the human output, written to $3.
kube::test::version::object_to_file() {
  local name=$1 flags=$2 file=$3
  # shellcheck disable=SC2086 # $flags holds zero or more flags
  kubectl version $flags 2>/dev/null | sed -n "s/^$name Version: //p" >"$file"
}
# kubectl version -o json: field $2 (e.g. clientVersion.gitVersion) or nothing when absent, written to $3.
kube::test::version::json_client_server_object_to_file() {
  local flags=$1 field=$2 file=$3
  # shellcheck disable=SC2086
  kubectl version $flags --output json 2>/dev/null | jq -r ".$field // empty" >"$file"
}
# The whole of kubectl version -o json / -o yaml, as canonical JSON, so that the two can be compared.
kube::test::version::json_object_to_file() {
  # shellcheck disable=SC2086
  kubectl version $1 --output json | jq -S . >"$2"
}
kube::test::version::yaml_object_to_file() {
  # shellcheck disable=SC2086
  kubectl version $1 --output yaml | python3 -c 'import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))' |
    jq -S . >"$2"
}
# $2 is eq (the two files are identical) or ne (they differ); $4 says what is checked.
kube::test::version::diff_assert() {
  local same=no
  cmp -s "$1" "$3" && same=yes
  if [[ ( "$2" == eq && $same == yes ) || ( "$2" == ne && $same == no ) ]]; then echo "PASS $4"; return 0; fi
  echo "FAIL $4: $(cat "$1") $2 $(cat "$3")"; return 1
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
  # KUBE_CMD_LOGS=<dir> keeps each function's whole log there.
  [[ -n "${KUBE_CMD_LOGS:-}" ]] && mkdir -p "$KUBE_CMD_LOGS" && cp "$KUBE_TEMP/$fn.log" "$KUBE_CMD_LOGS/"
  results+=("$([[ $rc == 0 ]] && echo PASS || echo FAIL) $fn")
done
printf '%s\n' "${results[@]}"
rm -rf "$KUBE_TEMP" "$TMPDIR"
