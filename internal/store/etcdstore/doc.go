// Package etcdstore implements store.Store over an etcd v3 cluster, for
// deployments where several Stargate processes share one configuration.
//
// Keys are stored verbatim (after the optional Config.Prefix), so an etcd
// written by Stargate uses APISIX's layout (/apisix/routes/<id>, …) and is
// readable by APISIX tooling, and the store's revisions are etcd's own:
// CreateRevision and ModRevision are etcd's create_revision and mod_revision.
//
// Writes are transactions. A Put is
//
//	Txn(If(cond…)).Then(Put(key, value[, lease]), Get(key, keys-only))
//
// so the new key's revisions come back in the same round trip, and a
// compare-and-swap is the If: ModRevision(key) = rev, or CreateRevision(key)
// = 0 for "must not exist" (an absent key has both at 0). A failed compare is
// store.ErrConflict and writes nothing. TTLs are leases: one lease per Put,
// granted for the TTL rounded up to whole seconds (etcd's lease unit; the
// server may raise it to its minimum TTL, 1.5 election timeouts).
//
// Watches use clientv3.WithRequireLeader. Without it a watch served by a
// member cut off from the quorum (a network partition, a lost leader) stays
// open and silent forever: the member cannot learn of new writes, so the
// watcher keeps serving a stale configuration and never finds out. With it
// the member cancels the watch when it has no leader, and Watch ends with an
// error wrapping store.ErrUnavailable (within about a second with etcd's
// default timing; TestNoLeader checks it against a real three-member
// cluster, and fails without the option). The caller re-lists and
// re-watches, which the client can send to another member. A compacted start
// revision ends the watch with store.ErrCompacted.
//
// A cluster that is unreachable altogether (every member down) does not end
// a watch: the client reconnects with backoff and resumes from the last
// revision it delivered, without a gap, once a member is back. Unary calls
// fail with store.ErrUnavailable meanwhile.
//
// Errors say where they come from ("etcdstore: …") and wrap both the store
// sentinel and the client error: deadlines, an unreachable cluster or a lost
// leader are store.ErrUnavailable.
//
// Unary calls run under Config.RequestTimeout when the caller's context has
// no deadline, because the etcd client retries an unreachable cluster until
// the context ends and would otherwise block forever.
package etcdstore
