// Package childproc gives the process attributes for the servers tests
// and benchmarks start (stargate, named, nginx, wrk): on Linux the kernel
// kills such a child with SIGKILL when its parent dies without stopping
// it (a panic, a -timeout abort, ^C), so none outlives the run that
// started it.
//
// Linux sends the parent-death signal when the OS thread that started
// the child exits, not the process: a goroutine that ends while locked to
// its thread (runtime.LockOSThread without the unlock) ends that thread,
// and the children started from it may go with it (benchkit.StallWatch's
// watcher killed a benchmark's stargate that way until it unlocked).
//
// Attr returns fresh attributes for one exec.Cmd each time; callers may
// add to them (Setpgid, say). It is never nil.
package childproc
