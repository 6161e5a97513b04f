#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what the tests need
# (a real etcd server from Debian, curl), then vet, the unit, integration
# and end-to-end tests (both store backends, the crash test), and a short
# run of each fuzzer. `go test -short ./...` is the quick inner loop.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v curl >/dev/null 2>&1 || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

export STARGATE_REQUIRE_ETCD=1
echo "== go vet"
go vet ./...
echo "== go test"
go test -count=1 -timeout 20m ./...
echo "== fuzz (short runs)"
fuzz() { go test -run '^$' -fuzz "^$2\$" -fuzztime "${FUZZTIME:-20s}" "$1"; }
fuzz ./internal/admin FuzzAdmin
fuzz ./internal/schema FuzzValidate
echo "== all tests passed"
