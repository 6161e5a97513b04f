package upstream

import (
	"sync/atomic"

	"golang.org/x/sys/cpu"

	"github.com/stargate-edge/stargate/internal/http1/evloop"
)

// stripes is how many counters a node's in-flight count is split into:
// one per event loop of the proxy's default loop count, at most 8 so that
// a node costs at most 8 padded counters (72 bytes each on amd64) however
// many CPUs the host has.
var stripes = min(max(evloop.DefaultLoops(), 1), 8)

// stripeOf is the counter a worker (an event loop's index, -1 off the
// loops) adds to. Loops beyond the stripe count share, as do callers off
// the loops with loop 0: sharing costs speed, never correctness.
func stripeOf(worker int) int {
	if worker < 0 {
		return 0
	}
	return worker % stripes
}

// inflight is a node's requests in flight (Pick .. Done), counted in
// stripes on separate cache lines. With one counter every request made
// two atomic additions on a line all loops' CPUs wrote; in a profile
// those two instructions were most of Pick's and Done's time. Readers
// (least_conn, ewma, the debug endpoint) sum the stripes: a count that
// may be a request or two behind while one is being picked, which a
// balancer choosing among peers does not mind (nginx without a shared
// zone does not count across workers at all).
type inflight struct {
	s []paddedCount
}

// paddedCount is a counter followed by a cache line of padding, so that
// two stripes' counters never share a line.
type paddedCount struct {
	n atomic.Int64
	_ cpu.CacheLinePad
}

func newInflight() inflight { return inflight{s: make([]paddedCount, stripes)} }

func (f *inflight) add(stripe int, d int64) { f.s[stripe].n.Add(d) }

// Load is the total across stripes.
func (f *inflight) Load() int64 {
	var t int64
	for i := range f.s {
		t += f.s[i].n.Load()
	}
	return t
}
