// Package boltstore is the embedded store.Store: one bbolt file, one global
// revision, and an in-process watch fan-out.
//
// Writes go through a single writer goroutine that applies every request
// waiting in its queue in one bbolt transaction (group commit): one fsync
// acknowledges a whole batch, so 32 concurrent writers cost about as many
// fsyncs as one. Each operation still gets its own revision, and watchers see
// them in revision order. A bounded event log in the same file lets a watcher
// resume from an older revision; older than the log is store.ErrCompacted.
package boltstore
