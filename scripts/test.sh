#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what the tests need
# (a real etcd server from Debian, curl, dig and a BIND secondary for the
# DNS tests, and h2spec for HTTP/2 conformance), then vet (for Linux and,
# so the non-Linux paths keep compiling, for macOS), the unit, integration
# and end-to-end tests (both store backends, the crash test), the race
# detector on the concurrent data-plane packages, and a short run of each
# fuzzer. `go test -short ./...` is the quick inner loop.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v dig >/dev/null 2>&1 || need+=(dnsutils)
command -v named >/dev/null 2>&1 || [ -x /usr/sbin/named ] || need+=(bind9)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

# h2spec, the HTTP/2 conformance suite TestH2spec runs against the binary,
# is a Go tool: installed where go install puts binaries, which goes on PATH.
gobin="$(go env GOBIN)"
[ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"
export PATH="$gobin:$PATH"
if ! command -v h2spec >/dev/null 2>&1; then
  echo "installing: h2spec"
  go install github.com/summerwind/h2spec/cmd/h2spec@v2.2.1+incompatible
fi

export STARGATE_REQUIRE_ETCD=1
# dig and named missing is a failure, not a skip.
export STARGATE_REQUIRE_TOOLS=1
echo "== go vet"
go vet ./...
echo "== go vet for macOS (the non-Linux code paths keep compiling)"
GOOS=darwin go vet ./...
echo "== go test"
go test -count=1 -timeout 20m ./...
echo "== race detector (the concurrent data-plane packages)"
go test -race -count=1 ./internal/http1/... ./internal/proxy/... ./internal/cache/... ./internal/plugin/proxycache/ ./internal/plugin/httplogger/ ./internal/snapshot/
echo "== fuzz (short runs)"
# Go 1.26's fuzz coordinator can fail a run at the -fuzztime boundary with
# a bare "context deadline exceeded" and no failing input, a race in its
# shutdown (go.dev/issue/75804, fixed in Go 1.27). A real finding writes a
# file under testdata/fuzz/<target>; a bare deadline without one is run
# again once, everything else fails the suite.
inputs() { ls "$1" 2>/dev/null | wc -l || true; } # files in a corpus dir (0 if none)
fuzz() {
  local dir="$1/testdata/fuzz/$2" before out
  before=$(inputs "$dir")
  if out=$(go test -run '^$' -fuzz "^$2\$" -fuzztime "${FUZZTIME:-15s}" "$1" 2>&1); then
    echo "$out"
    return 0
  fi
  echo "$out"
  if [ "$(inputs "$dir")" = "$before" ] && grep -q '^    context deadline exceeded$' <<<"$out" &&
    ! grep -q 'Failing input written' <<<"$out"; then
    echo "== $2: bare 'context deadline exceeded' with no failing input (go.dev/issue/75804); once more"
    go test -run '^$' -fuzz "^$2\$" -fuzztime "${FUZZTIME:-15s}" "$1"
    return
  fi
  return 1
}
fuzz ./internal/admin FuzzAdmin
fuzz ./internal/schema FuzzValidate
fuzz ./internal/cache/httpcache FuzzCacheControl
fuzz ./internal/authdns FuzzHandle
fuzz ./internal/authdns FuzzParseZoneFile
fuzz ./internal/authdns FuzzRecordNormalize
fuzz ./internal/admin FuzzDNSAPI
fuzz ./internal/http1/server FuzzRequest
fuzz ./internal/http1/server FuzzHeadInOnePiece
fuzz ./internal/http1/server FuzzRequestFraming
fuzz ./internal/http1/client FuzzResponse
fuzz ./internal/http1/client FuzzRawHead
fuzz ./internal/http1/client FuzzResponseFields
fuzz ./internal/http1/wire FuzzFieldChecks
fuzz ./internal/vars FuzzCompile
echo "== all tests passed"
