// Package store is Stargate's configuration store: a revisioned key/value
// space with compare-and-swap writes and ordered watches.
//
// The model is etcd v3's, because APISIX tooling reads etcd directly and an
// etcd populated by Stargate must be readable by it: every write bumps one
// global revision, each key carries the revision it was created at and the
// revision it was last modified at, and a watcher resumes from a revision.
// Two backends implement Store: boltstore (embedded, the default) and
// etcdstore (a shared cluster for scale-out). storetest holds the contract
// suite both pass.
package store
