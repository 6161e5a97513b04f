// Package etcdtest starts a real, single-member etcd server for tests and
// benchmarks, from the etcd binary on PATH (Debian's etcd-server package).
//
// Use Start from a test or benchmark; the server stops in tb.Cleanup. For one
// server per test binary, call StartServer from TestMain and Check its error
// in each test:
//
//	var srv *etcdtest.Server
//	var srvErr error
//
//	func TestMain(m *testing.M) {
//		srv, srvErr = etcdtest.StartServer()
//		code := m.Run()
//		srv.Stop() // nil-safe
//		os.Exit(code)
//	}
//
//	func TestX(t *testing.T) {
//		etcdtest.Check(t, srvErr)
//		... srv.Endpoints() ...
//	}
//
// When the binary is missing, tests are skipped with a clear message, unless
// the environment sets STARGATE_REQUIRE_ETCD=1, in which case they fail: CI
// sets it so that a missing etcd can never turn the etcd tests into silent
// skips.
package etcdtest
