// Package e2e holds black-box end-to-end tests: they build the real
// stargate binary once (TestMain), start it as a child process on loopback
// ports with a temporary data dir, and talk to it only over its public
// surfaces (admin API, /readyz, /metrics, stdout/stderr, exit codes, files
// in the data dir, the etcd keyspace). The layering test reads the import
// graph of the module with `go list`.
//
// The heavy tests (kill -9 durability, etcd backend) are skipped with
// -short, so `go test -short ./...` stays a quick inner loop.
// STARGATE_E2E_BIN=/path/to/stargate tests a prebuilt binary instead of
// building ./cmd/stargate (a release build, or a deliberately broken one to
// check that a test catches the fault).
package e2e
