package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/stargate-edge/stargate/bench/internal/benchkit"
)

// poller is one keep-alive HTTP/1.1 connection to the proxy that sends a
// prebuilt GET and reads the answer, with as little client work as it can.
type poller struct {
	addr string
	conn net.Conn
	br   *bufio.Reader
}

func (p *poller) close() {
	if p.conn != nil {
		p.conn.Close()
		p.conn = nil
	}
}

// get sends req and returns the answer's status; it reconnects once if
// the server closed the connection.
func (p *poller) get(req []byte) (int, error) {
	for attempt := 0; ; attempt++ {
		if p.conn == nil {
			c, err := net.DialTimeout("tcp", p.addr, 2*time.Second)
			if err != nil {
				return 0, err
			}
			p.conn, p.br = c, bufio.NewReaderSize(c, 16<<10)
		}
		_ = p.conn.SetDeadline(time.Now().Add(5 * time.Second))
		st, err := p.once(req)
		if err == nil {
			return st, nil
		}
		p.close()
		if attempt > 0 {
			return 0, err
		}
	}
}

func (p *poller) once(req []byte) (int, error) {
	if _, err := p.conn.Write(req); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(p.br, nil)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, err
	}
	if resp.Close {
		p.close()
	}
	return resp.StatusCode, nil
}

// change is one timed route creation.
type change struct {
	put        time.Duration // PUT sent → admin answer read
	fromSent   time.Duration // PUT sent → first 200 read by the poller
	fromAnswer time.Duration // admin answer read → first 200 read (≤ 0: seen before the answer)
	pollRTT    time.Duration // send → answer of the poll that saw the 200
	polls      int
	stale      int  // polls sent after the admin answer was read that still got 404
	timedOut   bool // no 200 within the per-change bound: the durations are that bound (censored)
}

// propResult is one propagation phase on one instance.
type propResult struct {
	changes []change
	elapsed time.Duration
}

func (r propResult) pct(f func(change) time.Duration, p float64) time.Duration {
	var xs []time.Duration
	for _, c := range r.changes {
		xs = append(xs, f(c))
	}
	slices.Sort(xs)
	return benchkit.Percentile(xs, p)
}

// staleChanges counts changes in which a poll sent after the admin answer
// had been read still got 404: the answer came before the data plane
// served the route.
func (r propResult) staleChanges() int {
	n := 0
	for _, c := range r.changes {
		if c.stale > 0 {
			n++
		}
	}
	return n
}

func (r propResult) timeouts() int {
	n := 0
	for _, c := range r.changes {
		if c.timedOut {
			n++
		}
	}
	return n
}

func (r propResult) beforeAnswer() int {
	n := 0
	for _, c := range r.changes {
		if c.fromAnswer <= 0 {
			n++
		}
	}
	return n
}

// propagate creates n new routes one after the other. For each, a poller
// GETs the new route's uri through the proxy back to back (it must see 404
// first), the route is PUT, and the time from the PUT being sent, and from
// its answer being read, to the poller's first 200 is recorded. Every
// change is bounded by perChange, the phase by limit.
func propagate(ctx context.Context, a *adminClient, proxyAddr, prefix string, n, hosts int, perChange, limit time.Duration) (propResult, error) {
	var res propResult
	start := time.Now()
	p := &poller{addr: proxyAddr}
	defer p.close()
	const maxPolls = 1_000_000
	for k := 0; k < n; k++ {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if time.Since(start) > limit {
			return res, fmt.Errorf("propagation: only %d of %d changes within %v", k, n, limit)
		}
		id := fmt.Sprintf("%s-%04d", prefix, k)
		uri := fmt.Sprintf("/p/%s/%d", prefix, k)
		host := routeHost(k, hosts)
		req := []byte("GET " + uri + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: sg-bench-poller\r\n\r\n")

		type obs struct {
			sent, recv time.Time
			polls      int
			sent404    []time.Time // send times of the polls that got 404
			timedOut   bool
			err        error
		}
		ready := make(chan error, 1)
		done := make(chan obs, 1)
		go func() {
			// The poller checks the route is absent, then polls until it
			// answers 200, the per-change bound passes, or maxPolls.
			st, err := p.get(req)
			if err == nil && st != http.StatusNotFound {
				err = fmt.Errorf("GET %s before its PUT: status %d, want 404", uri, st)
			}
			ready <- err
			if err != nil {
				return
			}
			deadline := time.Now().Add(perChange)
			var sent404 []time.Time
			for polls := 1; polls <= maxPolls && time.Now().Before(deadline); polls++ {
				ts := time.Now()
				st, err := p.get(req)
				tr := time.Now()
				if err != nil {
					done <- obs{err: err}
					return
				}
				switch st {
				case http.StatusOK:
					done <- obs{sent: ts, recv: tr, polls: polls, sent404: sent404}
					return
				case http.StatusNotFound:
					sent404 = append(sent404, ts)
				default:
					done <- obs{err: fmt.Errorf("GET %s: status %d while waiting for the route", uri, st)}
					return
				}
			}
			done <- obs{timedOut: true, recv: time.Now(), sent404: sent404}
		}()
		if err := <-ready; err != nil {
			return res, err
		}
		t0 := time.Now()
		perr := a.put(ctx, "/apisix/admin/routes/"+id, routeBody(uri, host))
		t1 := time.Now()
		ob := <-done // bounded by perChange
		if perr != nil {
			return res, perr
		}
		if ob.err != nil {
			return res, ob.err
		}
		if ob.timedOut {
			// Not visible within the bound: record the bound (a lower
			// bound of the real figure) and go on; the report counts these.
			benchkit.Logf("  %s: no 200 within %v of the PUT", uri, perChange)
			ob.sent = ob.recv
		}
		stale := 0
		for _, ts := range ob.sent404 {
			if ts.After(t1) {
				stale++
			}
		}
		res.changes = append(res.changes, change{
			put:        t1.Sub(t0),
			fromSent:   ob.recv.Sub(t0),
			fromAnswer: ob.recv.Sub(t1),
			pollRTT:    ob.recv.Sub(ob.sent),
			polls:      ob.polls,
			stale:      stale,
			timedOut:   ob.timedOut,
		})
	}
	res.elapsed = time.Since(start)
	if len(res.changes) == 0 {
		return res, errors.New("propagation: no changes")
	}
	return res, nil
}
