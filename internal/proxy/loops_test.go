package proxy_test

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/proxy"
)

// With one event loop serving every connection, a request that waits (on
// a slow upstream, or in a plugin that sleeps and so runs off the loop)
// must not hold up the others: the loop serves them meanwhile. With
// event loops off the same holds by construction; both modes run.
func TestLoopServesOthersWhileOneWaits(t *testing.T) {
	for _, loops := range []int{1, -1} {
		t.Run(fmt.Sprintf("event_loops=%d", loops), func(t *testing.T) {
			e := newEnv(t, func(o *proxy.Options) { o.EventLoops = loops })
			slowUp := startSlowUpstream(t, 800*time.Millisecond)
			fast, _ := echo(t, "fast")
			e.put("/routes/slow-upstream", `{"uri":"/slow-upstream","upstream":{"nodes":{"`+slowUp+`":1}}}`)
			e.put("/routes/slow-plugin", `{"uri":"/slow-plugin","plugins":{"fault-injection":{"delay":{"duration":0.8}}},"upstream":{"nodes":{"`+fast+`":1}}}`)
			e.put("/routes/fast", `{"uri":"/fast","upstream":{"nodes":{"`+fast+`":1}}}`)

			for _, path := range []string{"/slow-upstream", "/slow-plugin"} {
				done := make(chan error, 1)
				start := time.Now()
				go func() {
					res, err := http.Get(e.httpURL + path)
					if err == nil {
						io.Copy(io.Discard, res.Body)
						res.Body.Close()
						if res.StatusCode != 200 {
							err = fmt.Errorf("status %d", res.StatusCode)
						}
					}
					done <- err
				}()
				time.Sleep(100 * time.Millisecond)
				for i := range 5 {
					// A new connection each time: the one loop accepts it too.
					c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
					t0 := time.Now()
					res, err := c.Get(e.httpURL + "/fast")
					if err != nil {
						t.Fatalf("%s: fast request %d: %v", path, i, err)
					}
					b, _ := io.ReadAll(res.Body)
					res.Body.Close()
					if d := time.Since(t0); res.StatusCode != 200 || !strings.Contains(string(b), `"fast"`) || d > 400*time.Millisecond {
						t.Fatalf("%s: fast request %d: %d %q after %v", path, i, res.StatusCode, b, d)
					}
				}
				if err := <-done; err != nil {
					t.Fatalf("%s: %v", path, err)
				}
				if d := time.Since(start); d < 700*time.Millisecond {
					t.Fatalf("%s answered after %v: did it wait at all?", path, d)
				}
			}
		})
	}
}

// startSlowUpstream answers every request after d.
func startSlowUpstream(t *testing.T, d time.Duration) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(d)
		w.Write([]byte("slow"))
	}))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

// Pipelined requests (several in one packet) are all answered, in order,
// whether the listener runs on event loops or not: the second and third
// are already buffered when the first is done, and no readiness edge will
// come for them.
func TestPipelinedRequests(t *testing.T) {
	for _, loops := range []int{0, -1} {
		t.Run(fmt.Sprintf("event_loops=%d", loops), func(t *testing.T) {
			e := newEnv(t, func(o *proxy.Options) { o.EventLoops = loops })
			up, _ := echo(t, "up")
			e.put("/routes/p", `{"uri":"/p/*","upstream":{"nodes":{"`+up+`":1}}}`)
			c, err := net.Dial("tcp", strings.TrimPrefix(e.httpURL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			var batch strings.Builder
			for i := range 3 {
				fmt.Fprintf(&batch, "GET /p/%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
			}
			if _, err := c.Write([]byte(batch.String())); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(c)
			for i := range 3 {
				res, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("response %d: %v", i, err)
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != 200 || !strings.Contains(string(b), fmt.Sprintf(`"path":"/p/%d"`, i)) {
					t.Fatalf("response %d: %d %s", i, res.StatusCode, b)
				}
			}
		})
	}
}

// workerTag answers every request itself with the plugin context's
// Worker in a header.
type workerTag struct{}

func (workerTag) Rewrite(c *plugin.Ctx) {
	c.RespHeader.Set("X-Worker", strconv.Itoa(c.Worker))
	c.Exit(http.StatusOK, nil)
}

func init() {
	plugin.Register(plugin.Definition{Name: "test-worker", Priority: 1, Schema: []byte(`{"type":"object"}`),
		New: func(map[string]any) (any, error) { return workerTag{}, nil }})
}

// Plugins learn which event loop serves the request (plugin.Ctx.Worker,
// APISIX's ngx.worker.id()): 0 or 1 with two loops, both of them over
// enough connections; -1 without loops.
func TestPluginWorker(t *testing.T) {
	for _, c := range []struct {
		loops int
		want  []string
	}{{2, []string{"0", "1"}}, {-1, []string{"-1"}}} {
		t.Run(fmt.Sprintf("event_loops=%d", c.loops), func(t *testing.T) {
			e := newEnv(t, func(o *proxy.Options) { o.EventLoops = c.loops })
			e.put("/routes/w", `{"uri":"/w","plugins":{"test-worker":{}},"upstream":{"nodes":{"127.0.0.1:1":1}}}`)
			seen := map[string]bool{}
			for range 8 { // connections kept open spread over the loops
				tr := &http.Transport{}
				t.Cleanup(tr.CloseIdleConnections)
				res, err := (&http.Client{Transport: tr}).Get(e.httpURL + "/w")
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				seen[res.Header.Get("X-Worker")] = true
			}
			got := slices.Sorted(maps.Keys(seen))
			if !slices.Equal(got, c.want) {
				t.Fatalf("workers %v, want %v", got, c.want)
			}
		})
	}
}

// Each event loop keeps its own upstream connections (the idle pool is
// sharded per loop): one loop's coroutines cannot use another's
// connections, so sequential requests over many client connections need
// one upstream connection per loop, not one per client, and the
// keep-alive pool's idle timeout closes every loop's connections.
func TestUpstreamPoolPerLoop(t *testing.T) {
	e := newEnv(t, func(o *proxy.Options) { o.EventLoops = 2 })
	var mu sync.Mutex
	opened, closed := 0, 0
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok"))
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		switch st {
		case http.StateNew:
			opened++
		case http.StateClosed:
			closed++
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	up := strings.TrimPrefix(s.URL, "http://")
	e.put("/routes/pool", `{"uri":"/pool","plugins":{"test-worker-echo":{}},"upstream":{"nodes":{"`+up+`":1},"keepalive_pool":{"idle_timeout":0.3}}}`)
	workers := map[string]bool{}
	for range 8 { // client connections kept open spread over the loops
		tr := &http.Transport{}
		t.Cleanup(tr.CloseIdleConnections)
		c := &http.Client{Transport: tr}
		for range 3 {
			res, err := c.Get(e.httpURL + "/pool")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || string(b) != "ok" {
				t.Fatalf("%d %q", res.StatusCode, b)
			}
			workers[res.Header.Get("X-Worker")] = true
		}
	}
	if len(workers) != 2 {
		t.Fatalf("requests served by loops %v, want both", workers)
	}
	mu.Lock()
	n := opened
	mu.Unlock()
	if n != 2 {
		t.Fatalf("%d upstream connections for 24 sequential requests on 2 loops, want 2 (one per loop)", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		c := closed
		mu.Unlock()
		if c == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 2 idle upstream connections closed 5 s after a 0.3 s idle timeout", c)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// workerEcho tags the upstream's answer with the plugin context's Worker.
// It never waits (Inline), so the request stays on its loop.
type workerEcho struct{}

func (workerEcho) HeaderFilter(c *plugin.Ctx, _ int, h http.Header) {
	h.Set("X-Worker", strconv.Itoa(c.Worker))
}

func init() {
	plugin.Register(plugin.Definition{Name: "test-worker-echo", Priority: 1, Schema: []byte(`{"type":"object"}`), Inline: true,
		New: func(map[string]any) (any, error) { return workerEcho{}, nil }})
}
