// Package snapshot turns the store into the data plane's configuration: an
// immutable Snapshot (router, compiled routes with their plugin chains and
// upstreams, SNI certificates) swapped in atomically.
//
// One goroutine follows the store. Changes mark the objects they touch; the
// compiler then recompiles only those objects and the routes that depend on
// them (a route depends on its service, plugin_config and upstream), and
// derives the next router from the previous one with the changed routes
// only. Bursts coalesce: whatever arrived while a compile ran goes into the
// next one. Requests in flight keep the snapshot they started with. A bad
// object is left out, logged and counted; everything else keeps serving.
package snapshot
