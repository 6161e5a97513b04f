package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stargate-edge/stargate/internal/store"
)

// Timeouts of the suite. They are generous: they bound waits that normally
// end in milliseconds, so that a loaded CI machine does not flake.
const (
	eventTimeout = 10 * time.Second // events that should arrive
	closeTimeout = 5 * time.Second  // a watch channel closing after cancel
)

// watcher reads one Watch channel and checks each response on the way.
type watcher struct {
	desc    string
	ch      <-chan store.WatchResponse
	cancel  context.CancelFunc
	buf     []store.Event // received, not yet returned by next
	lastRev int64         // highest event ModRevision seen
	respRev int64         // highest response Revision seen
}

// startWatch watches prefix from fromRev; the watch is cancelled, and its
// channel must close, when t ends.
func startWatch(t *testing.T, s store.Store, prefix string, fromRev int64) *watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{
		desc:   fmt.Sprintf("watch %q from %d", prefix, fromRev),
		ch:     s.Watch(ctx, prefix, fromRev),
		cancel: cancel,
	}
	t.Cleanup(func() { w.stop(t) })
	return w
}

// stop cancels the watch and waits for its channel to close, discarding
// whatever is still queued.
func (w *watcher) stop(t *testing.T) {
	t.Helper()
	w.cancel()
	timer := time.NewTimer(closeTimeout)
	defer timer.Stop()
	for {
		select {
		case _, ok := <-w.ch:
			if !ok {
				return
			}
		case <-timer.C:
			t.Errorf("%s: channel still open %v after its context was cancelled", w.desc, closeTimeout)
			return
		}
	}
}

// check asserts the invariants of every response: events in strictly
// increasing revision order across the whole stream, and a response
// Revision that never goes back and covers the response's events.
func (w *watcher) check(t *testing.T, r store.WatchResponse) {
	t.Helper()
	for _, e := range r.Events {
		if e.KV.ModRevision <= w.lastRev {
			t.Fatalf("%s: event %v %q at revision %d after an event at revision %d: want strictly increasing revisions",
				w.desc, e.Type, e.KV.Key, e.KV.ModRevision, w.lastRev)
		}
		w.lastRev = e.KV.ModRevision
	}
	if n := len(r.Events); n > 0 && r.Revision < r.Events[n-1].KV.ModRevision {
		t.Fatalf("%s: response Revision %d is below its last event's revision %d", w.desc, r.Revision, r.Events[n-1].KV.ModRevision)
	}
	if r.Revision < w.respRev {
		t.Fatalf("%s: response Revision went back from %d to %d", w.desc, w.respRev, r.Revision)
	}
	w.respRev = r.Revision
}

// next returns the next n events, failing on an error, a closed channel or
// a timeout.
func (w *watcher) next(t *testing.T, n int) []store.Event {
	t.Helper()
	timer := time.NewTimer(eventTimeout)
	defer timer.Stop()
	for len(w.buf) < n {
		select {
		case r, ok := <-w.ch:
			if !ok {
				t.Fatalf("%s: channel closed after %d of %d events", w.desc, len(w.buf), n)
			}
			if r.Err != nil {
				t.Fatalf("%s: error after %d of %d events: %v", w.desc, len(w.buf), n, r.Err)
			}
			w.check(t, r)
			w.buf = append(w.buf, r.Events...)
		case <-timer.C:
			t.Fatalf("%s: timed out after %v with %d of %d events: %v", w.desc, eventTimeout, len(w.buf), n, recs(w.buf))
		}
	}
	got := w.buf[:n:n]
	w.buf = w.buf[n:]
	return got
}

// expectEnd reads until the channel closes: no events first, then exactly
// one response whose error is want, then the close.
func (w *watcher) expectEnd(t *testing.T, want error) {
	t.Helper()
	timer := time.NewTimer(eventTimeout)
	defer timer.Stop()
	var gotErr error
	for {
		select {
		case r, ok := <-w.ch:
			if !ok {
				if gotErr == nil {
					t.Fatalf("%s: channel closed without a response carrying %v", w.desc, want)
				}
				return
			}
			switch {
			case gotErr != nil:
				t.Fatalf("%s: response after the error response: %+v", w.desc, r)
			case len(r.Events) > 0:
				t.Fatalf("%s: got events %v, want only an error %v", w.desc, recs(r.Events), want)
			case r.Err == nil:
				// An empty progress response is harmless.
			case !errors.Is(r.Err, want):
				t.Fatalf("%s: error %v, want errors.Is(err, %v)", w.desc, r.Err, want)
			default:
				gotErr = r.Err
			}
		case <-timer.C:
			t.Fatalf("%s: no end within %v (error so far: %v)", w.desc, eventTimeout, gotErr)
		}
	}
}

// rec is an Event in a form cmp.Diff prints and compares usefully. A delete
// event carries no value and no create revision.
type rec struct {
	Type           store.EventType
	Key            string
	Value          string
	CreateRevision int64
	ModRevision    int64
}

func recs(evs []store.Event) []rec {
	out := make([]rec, 0, len(evs))
	for _, e := range evs {
		r := rec{Type: e.Type, Key: e.KV.Key, ModRevision: e.KV.ModRevision}
		if e.Type == store.EventPut {
			r.Value = string(e.KV.Value)
			r.CreateRevision = e.KV.CreateRevision
		}
		out = append(out, r)
	}
	return out
}

func putRec(kv store.KV) rec {
	return rec{Type: store.EventPut, Key: kv.Key, Value: string(kv.Value), CreateRevision: kv.CreateRevision, ModRevision: kv.ModRevision}
}

func delRec(key string, rev int64) rec {
	return rec{Type: store.EventDelete, Key: key, ModRevision: rev}
}
