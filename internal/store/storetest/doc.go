// Package storetest is the contract suite every store.Store backend passes.
//
// A backend's test calls Run with a factory returning a fresh, empty store
// (and, if the backend can compact its history, RunCompaction):
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s := open(t)
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The factory owns the store's cleanup; Close must therefore be safe to call
// twice (one subtest closes its store itself). Subtests do not run in
// parallel: several assert on the global revision, which a concurrent
// subtest would move on a backend shared between stores (one etcd server
// behind several prefixes). Every watch a subtest starts is cancelled, and
// its channel must close.
package storetest
