// Package benchkit holds what the side-by-side benchmarks under bench/
// (admin, proxy) need alike: running and stopping child processes with
// their logs, starting a `stargate serve` on loopback ports, reading a
// process's CPU and memory from /proc, profiling with perf, describing
// the host, and the small numeric and markdown helpers of their reports.
//
// It lives under bench/internal so only the benchmark programs use it:
// it is measurement plumbing, not part of Stargate. Each benchmark keeps
// its own flags, phases and report layout; this package only removes the
// copies of the parts that were the same.
package benchkit
