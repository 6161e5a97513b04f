// Package jobs runs the platform's long operations (DESIGN §7,
// spec/cache.md): cache purges and cache warms now, node and certificate
// jobs later.
//
// A job is a JSON record in the store under /stargate/jobs/<id>: id, type,
// status (waiting → running → completed | failed), created and updated
// times (RFC 3339 UTC), the request, progress counters, per-URL results
// for warms, an error, and a status per edge node. The control role
// creates jobs (Create); every edge runs a Worker that watches the prefix,
// claims its node's share of each job with a compare-and-swap, runs it
// against its own zones (a purge scans the zone's index; a warm requests
// each URL through the edge's own proxy listener, so the matching route
// decides the zone and the key), and records its outcome. The job's
// status and progress aggregate the nodes' (Options.Nodes names the edges
// a job waits for; one edge by default). A job a node left running when
// it died is resumed when that node's worker starts, at most three times,
// then failed with a reason: never left hanging.
package jobs
