package benchkit

import (
	"errors"
	"os"
	"sync"
	"testing"
	"time"
)

// fakeClock advances by each sleep, plus a scripted extra on chosen sleeps.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	n     int
	extra map[int]time.Duration
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *fakeClock) sleep(d time.Duration) {
	c.mu.Lock()
	c.n++
	c.t = c.t.Add(d + c.extra[c.n])
	c.mu.Unlock()
	time.Sleep(10 * time.Microsecond) // let Stop get in
}

func TestStallWatch(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra map[int]time.Duration
		count int
		worst time.Duration
	}{
		{"quiet", nil, 0, 0},
		{"ordinary scheduling delay", map[int]time.Duration{3: 9 * time.Millisecond}, 0, 9 * time.Millisecond},
		{"at the threshold", map[int]time.Duration{3: StallThreshold}, 0, StallThreshold},
		{"two host stalls", map[int]time.Duration{2: 100 * time.Millisecond, 5: 60 * time.Millisecond}, 2, 100 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &fakeClock{t: time.Unix(1, 0), extra: tc.extra}
			w := watchStalls(c.sleep, c.now)
			for {
				c.mu.Lock()
				n := c.n
				c.mu.Unlock()
				if n > 10 {
					break
				}
				time.Sleep(100 * time.Microsecond)
			}
			s := w.Stop()
			if s.Count != tc.count || s.Worst != tc.worst {
				t.Fatalf("got %d stalls, worst %v; want %d, %v", s.Count, s.Worst, tc.count, tc.worst)
			}
		})
	}
}

// A watcher must not end its OS thread: a child started from that thread
// with childproc.Attr's Pdeathsig would be killed with it (one run of the
// proxy benchmark lost its Stargate this way). Go ends a thread only when
// a goroutine exits locked to it, so every thread of the process must
// outlive watchers coming and going.
func TestStallWatchKeepsThreads(t *testing.T) {
	before := threads(t)
	for range 20 {
		WatchStalls().Stop()
	}
	after := threads(t)
	for tid := range before {
		if !after[tid] {
			t.Fatalf("thread %s ended while watchers came and went", tid)
		}
	}
}

func threads(t *testing.T) map[string]bool {
	t.Helper()
	es, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Skip("no /proc/self/task:", err)
	}
	m := map[string]bool{}
	for _, e := range es {
		m[e.Name()] = true
	}
	return m
}

// scripted is a watch that reports the given stalls when stopped.
func scripted(s Stalls) *StallWatch {
	w := &StallWatch{stop: make(chan struct{}), done: make(chan Stalls, 1)}
	go func() { <-w.stop; w.done <- s }()
	return w
}

func TestUnstalled(t *testing.T) {
	stall := Stalls{Count: 1, Worst: 100 * time.Millisecond}
	boom := errors.New("wrk failed")
	for _, tc := range []struct {
		name      string
		retries   int
		runs      []Stalls // what each run's watch reports
		errAt     int      // run (from 1) whose measure fails, 0 = none
		measured  int
		discarded int
		kept      Stalls
		err       error
	}{
		{"quiet first run", 3, []Stalls{{}}, 0, 1, 0, Stalls{}, nil},
		{"one stalled run", 3, []Stalls{stall, {}}, 0, 2, 1, Stalls{}, nil},
		{"retries run out", 2, []Stalls{stall, stall, stall, {}}, 0, 3, 2, stall, nil},
		{"no retries", 0, []Stalls{stall}, 0, 1, 0, stall, nil},
		{"an error ends it", 3, []Stalls{stall, stall}, 2, 2, 1, stall, boom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			measured, heard := 0, 0
			watch := func() *StallWatch { return scripted(tc.runs[measured]) }
			kept, discarded, err := unstalled(tc.retries, watch, func() error {
				measured++
				if measured == tc.errAt {
					return boom
				}
				return nil
			}, func(Stalls) { heard++ })
			if measured != tc.measured || discarded != tc.discarded || heard != tc.discarded || kept != tc.kept || !errors.Is(err, tc.err) {
				t.Fatalf("measured %d, discarded %d (heard %d), kept %+v, err %v; want %d, %d, %+v, %v",
					measured, discarded, heard, kept, err, tc.measured, tc.discarded, tc.kept, tc.err)
			}
		})
	}
}

func TestStallTally(t *testing.T) {
	type run struct {
		name    string
		stalls  int
		retried int
	}
	for _, tc := range []struct {
		name                       string
		runs                       []run
		stalled, retried, measured int
		per                        string
	}{
		{"none", nil, 0, 0, 0, ""},
		{"quiet runs", []run{{"a", 0, 0}, {"b", 0, 0}}, 0, 0, 2, ""},
		{"a kept run that stalled", []run{{"a", 2, 0}, {"b", 0, 0}}, 1, 0, 2, "a 1"},
		{"runs measured again, the last quiet", []run{{"b", 0, 2}, {"a", 0, 0}}, 2, 2, 4, "b 2"},
		{"retries ran out", []run{{"b", 1, 3}, {"a", 1, 0}, {"a", 0, 1}}, 6, 4, 7, "a 2, b 4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var st StallTally
			for _, r := range tc.runs {
				st.Add(r.name, Stalls{Count: r.stalls}, r.retried)
			}
			if st.Stalled != tc.stalled || st.Retried != tc.retried || st.Measured != tc.measured || st.PerServer() != tc.per {
				t.Fatalf("got stalled %d, retried %d, measured %d, per server %q; want %d, %d, %d, %q",
					st.Stalled, st.Retried, st.Measured, st.PerServer(), tc.stalled, tc.retried, tc.measured, tc.per)
			}
		})
	}
}
