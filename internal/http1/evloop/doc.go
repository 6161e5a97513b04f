// Package evloop serves connections from event loops, one per CPU, instead
// of parking a goroutine in the runtime's poller for every wait.
//
// Why: with a goroutine per connection, a proxied request parks and wakes
// two goroutines through the scheduler (client read, upstream read), each
// preceded by a read system call that returns EAGAIN, and the scheduler
// hands work between threads with futex and nanosleep calls. On a small
// machine that costs as much CPU as the proxying itself, and a bare Go
// forwarder built that way stays well below nginx (BENCHMARKS.md, "Go
// floor"). An epoll loop per CPU does not pay it.
//
// How, without rewriting the HTTP code as state machines: every
// connection's serving code still runs as ordinary blocking Go, but as a
// coroutine (iter.Pull) driven by its loop. A Conn's Read or Write that
// would block registers the running coroutine as the waiter and yields to
// the loop: a direct goroutine switch on the same thread, without the
// scheduler. The loop waits in epoll_wait (edge-triggered), marks the
// connections that became ready and resumes their coroutines. Readiness is
// tracked per direction, so a read after a short read (the socket was
// drained) yields at once instead of trying the system call first. Upstream
// connections dialled by a coroutine belong to the same loop.
//
// The rule that comes with it: code running in a loop's coroutine must not
// block on anything but its loop's connections, or the whole loop (every
// connection on it) waits, and if what it waits for needs the loop, it
// never wakes. Work that may block (a plugin calling out, a WebSocket
// copying both ways, HTTP/2) runs through Block, which hands the function
// to a goroutine, switches the connection to blocking mode (waits on a
// channel the loop signals) and resumes the coroutine when it returns.
//
// Deadlines are kept by the loop's timer heap, checked when epoll_wait
// returns; setting one costs no runtime timer. The loop reads the clock
// once per pass over its ready connections, and its coroutines count
// deadlines from that reading (Conn.Now, Loop.Now) instead of reading
// the clock themselves several times per request; a connection in
// blocking mode uses the clock itself.
//
// Each loop keeps its OS thread (runtime.LockOSThread) and, when nothing
// is ready, sleeps in epoll_wait in that thread, as nginx's workers do:
// the kernel wakes the very thread that will serve the event. Parking the
// loop's goroutine in the runtime's poller instead meant another thread
// had to take it over on wake-up; on a host where the proxy shares its
// CPUs with upstreams and clients that left the host idle 4-6 µs per
// request at saturation (BENCHMARKS.md, "Sixth session"). Before it
// sleeps, a loop polls for 20 µs, yielding the CPU (sched_yield) between
// polls, and stops doing so while its spins keep finding nothing. The
// coroutines must run under the thread lock they were created with, so a
// loop is locked for its whole life. A loop keeps its P while it runs, so
// NewGroup raises GOMAXPROCS to one more than the loops, for the
// goroutines outside them.
package evloop
