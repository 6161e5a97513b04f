package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// decode turns JSON text into the map Compile receives from the snapshot
// (numbers as json.Number).
func decode(t testing.TB, s string) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return m
}

// conf builds an upstream object from a format string.
func conf(t testing.TB, format string, args ...any) map[string]any {
	t.Helper()
	return decode(t, fmt.Sprintf(format, args...))
}

func newTestManager(t testing.TB, opts ...Option) *Manager {
	t.Helper()
	m := NewManager(nil, opts...)
	t.Cleanup(m.Close)
	return m
}

func mustCompile(t testing.TB, m *Manager, key string, c map[string]any) *Upstream {
	t.Helper()
	u, err := m.Compile(key, c)
	if err != nil {
		t.Fatalf("Compile(%s): %v", key, err)
	}
	return u
}

// input is a plain HashInput.
type input struct {
	vars     map[string]string
	headers  map[string]string
	cookies  map[string]string
	consumer string
}

func (in *input) Var(name string) (string, bool) { v, ok := in.vars[name]; return v, ok }
func (in *input) Header(name string) string      { return in.headers[name] }
func (in *input) Cookie(name string) string      { return in.cookies[name] }
func (in *input) Consumer() string               { return in.consumer }

// report feeds one result for node n through its real Done, as if it had
// been picked.
func report(u *Upstream, n *Node, r Result) {
	u.states[n.idx].active.add(0, 1)
	u.done[n.idx*stripes](r)
}

// backend is a real HTTP server whose status and latency can be changed.
type backend struct {
	*httptest.Server
	status atomic.Int64
	delay  atomic.Int64 // nanoseconds
	hits   atomic.Int64
	block  chan struct{} // when non-nil, requests wait on it
}

func newBackend(t testing.TB) *backend {
	t.Helper()
	b := &backend{}
	b.status.Store(200)
	b.Server = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.Close)
	return b
}

func (b *backend) serve(w http.ResponseWriter, r *http.Request) {
	b.hits.Add(1)
	if b.block != nil {
		select {
		case <-b.block:
		case <-r.Context().Done():
		}
	}
	if d := time.Duration(b.delay.Load()); d > 0 {
		time.Sleep(d)
	}
	w.WriteHeader(int(b.status.Load()))
	_, _ = io.WriteString(w, b.Listener.Addr().String())
}

func (b *backend) addr() string { return b.Listener.Addr().String() }

// do is a minimal proxy attempt: Pick, send through the upstream's pooled
// transport, report through Done. It returns the node that answered.
func do(t testing.TB, u *Upstream, in HashInput, tried []*Node) (*Node, int, error) {
	t.Helper()
	n, done, err := u.Pick(-1, in, tried)
	if err != nil {
		return nil, 0, err
	}
	start := time.Now()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, u.Scheme+"://"+n.Addr+"/", nil)
	resp, err := u.Transport().RoundTrip(req)
	if err != nil {
		var ne net.Error
		done(Result{Err: err, Timeout: errors.As(err, &ne) && ne.Timeout(), Latency: time.Since(start)})
		return n, 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	done(Result{Status: resp.StatusCode, Latency: time.Since(start)})
	return n, resp.StatusCode, nil
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	_ = l.Close()
	return a
}

// waitFor polls cond every 5ms until it holds or d passes, and returns how
// long it took.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("%s: not true after %v", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

func nodeByAddr(u *Upstream, addr string) *Node {
	for _, n := range u.Nodes() {
		if n.Addr == addr {
			return n
		}
	}
	return nil
}

func mustReq(t testing.TB, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
