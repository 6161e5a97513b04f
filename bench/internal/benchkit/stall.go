package benchkit

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// StallThreshold is how far past its 1 ms sleep the watcher must wake
// for the gap to count as a host stall. Under full load on the 2-CPU
// benchmark machine no runnable thread waited longer than 9 ms for a CPU
// (`perf sched timehist`); the stalls this looks for are 100 ms.
const StallThreshold = 40 * time.Millisecond

// Stalls is what a StallWatch saw.
type Stalls struct {
	Count int           // gaps longer than StallThreshold
	Worst time.Duration // longest gap, whether it counted or not
}

// StallWatch notices when the whole machine stops. On the benchmark
// host (a VM) both CPUs sometimes stop for about 100 ms at once: `perf
// sched timehist` then shows every task on both CPUs "running" the same
// 100 ms while the threads queued behind them wait, and wrk's p99 jumps
// from 5-10 ms to 45-110 ms for whichever server is being measured,
// nginx too (it stops more often under Stargate's load; BENCHMARKS.md,
// "Seventh session"). Such a run measures the host more than the
// server. The watcher is a goroutine on its own OS thread that sleeps
// 1 ms at a time and records how late it wakes.
type StallWatch struct {
	stop chan struct{}
	done chan Stalls
}

// WatchStalls starts a watcher; Stop ends it.
func WatchStalls() *StallWatch {
	return watchStalls(time.Sleep, time.Now)
}

func watchStalls(sleep func(time.Duration), now func() time.Time) *StallWatch {
	w := &StallWatch{stop: make(chan struct{}), done: make(chan Stalls, 1)}
	var started sync.WaitGroup
	started.Add(1)
	go func() {
		// Its own thread: a goroutine could wait for a P. Unlocked
		// before it ends: a goroutine that exits locked takes its thread
		// with it, and a server this process started from that thread
		// would get its Pdeathsig (childproc.Attr) and be killed.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var s Stalls
		started.Done()
		for {
			select {
			case <-w.stop:
				w.done <- s
				return
			default:
			}
			t0 := now()
			sleep(time.Millisecond)
			gap := now().Sub(t0) - time.Millisecond
			s.Worst = max(s.Worst, gap)
			if gap > StallThreshold {
				s.Count++
			}
		}
	}()
	started.Wait()
	return w
}

// Stop ends the watch and returns what it saw.
func (w *StallWatch) Stop() Stalls {
	close(w.stop)
	return <-w.done
}

// Unstalled runs measure while watching for stalls, and runs it again,
// up to retries more times, while the machine stopped during it; again
// hears of each run discarded. It returns the stalls of the run kept
// (non-zero only when the retries ran out) and how many runs were
// discarded. An error from measure ends it at once.
func Unstalled(retries int, measure func() error, again func(Stalls)) (Stalls, int, error) {
	return unstalled(retries, WatchStalls, measure, again)
}

func unstalled(retries int, watch func() *StallWatch, measure func() error, again func(Stalls)) (Stalls, int, error) {
	for discarded := 0; ; discarded++ {
		w := watch()
		err := measure()
		s := w.Stop()
		if err != nil || s.Count == 0 || discarded >= retries {
			return s, discarded, err
		}
		again(s)
	}
}

// StallTally adds up, over a benchmark's runs, those during which the
// machine stopped: every run measured again, and a kept run with stalls.
type StallTally struct {
	Stalled  int // runs during which the machine stopped
	Retried  int // runs measured again
	Measured int // runs measured, kept or not
	per      map[string]int
}

// Add counts one kept run of the named server: its stalls, and how many
// runs before it were measured again (Unstalled's results).
func (t *StallTally) Add(name string, s Stalls, retried int) {
	n := retried
	if s.Count > 0 {
		n++
	}
	if t.per == nil {
		t.per = map[string]int{}
	}
	t.per[name] += n
	t.Stalled += n
	t.Retried += retried
	t.Measured += 1 + retried
}

// PerServer lists the servers that had stalled runs and how many, by
// name: "nginx 2, stargate 1".
func (t *StallTally) PerServer() string {
	var out []string
	for name, n := range t.per {
		if n > 0 {
			out = append(out, fmt.Sprintf("%s %d", name, n))
		}
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}
