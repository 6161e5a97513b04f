// Package gctune sets the garbage collector's target so that a small
// live heap is not collected every few megabytes.
//
// A proxy's live heap is small (the compiled config, pools, caches' index)
// while it allocates a few kilobytes per request that die at once. With
// the default GOGC=100 a 20 MB live heap is collected every 20 MB of
// allocation, which at tens of thousands of requests per second is many
// cycles per second: measured, about a tenth of the proxy's CPU. Letting
// the heap grow by at least Headroom bytes before the next cycle (GOGC
// raised while the live heap is small, never below 100) removes most of
// that cost for a bounded amount of memory: at most Headroom more than
// GOGC=100 would use. A big live heap (100k routes) keeps GOGC=100.
//
// An operator's GOGC or GOMEMLIMIT environment variable wins: Start does
// nothing when either is set.
package gctune

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// Percent is the GOGC that gives a live heap of live bytes at least
// headroom bytes to grow, between 100 and 1000.
func Percent(live, headroom uint64) int {
	if live == 0 {
		return 1000
	}
	p := headroom * 100 / live
	return int(min(max(p, 100), 1000))
}

var running atomic.Bool

// Start retunes GOGC after every garbage collection for the given
// headroom. It reports whether it took over (false when the environment
// sets GOGC or GOMEMLIMIT, or when already started).
func Start(headroom uint64) bool {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" || headroom == 0 {
		return false
	}
	if !running.CompareAndSwap(false, true) {
		return false
	}
	samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var arm func()
	retune := func() {
		metrics.Read(samples)
		if samples[0].Value.Kind() == metrics.KindUint64 {
			debug.SetGCPercent(Percent(samples[0].Value.Uint64(), headroom))
		}
		arm()
	}
	// A finalizer on a fresh object runs after the cycle that found it
	// unreachable: once per GC, in the finalizer goroutine.
	arm = func() {
		s := new([16]byte)
		runtime.SetFinalizer(s, func(*[16]byte) { retune() })
	}
	debug.SetGCPercent(Percent(0, headroom))
	arm()
	return true
}
