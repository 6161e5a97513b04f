package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// shutdownTimeout is the default shutdown_timeout (DESIGN.md, config.Default).
const shutdownTimeout = 10 * time.Second

// TestSignalsGraceful: SIGTERM and SIGINT drain the requests in flight,
// close the store, exit 0 within the shutdown timeout, and leave the data
// dir usable by the next process.
func TestSignalsGraceful(t *testing.T) {
	for _, tc := range []struct {
		desc string
		sig  syscall.Signal
	}{
		{desc: "SIGTERM", sig: syscall.SIGTERM},
		{desc: "SIGINT", sig: syscall.SIGINT},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			const key = "signal-test-key"
			opts := startOpts{dataDir: t.TempDir(), args: []string{"--admin-key", key}, key: key}
			p := start(t, opts)

			// Slow requests: headers and half the body are sent before the
			// signal, the rest after it. The server has accepted them and
			// is inside the handler when the signal arrives.
			const slow = 4
			type result struct {
				id   string
				code int
				body []byte
				err  error
			}
			results := make(chan result, slow)
			started := make(chan struct{}, slow)
			release := make(chan struct{})
			for k := range slow {
				id := fmt.Sprintf("slow-%d", k)
				body := routeBody("/slow/"+id, "slow")
				go func() {
					pr, pw := io.Pipe()
					go func() {
						half := len(body) / 2
						if _, err := pw.Write([]byte(body[:half])); err != nil {
							return
						}
						started <- struct{}{}
						<-release
						time.Sleep(time.Duration(k) * 100 * time.Millisecond)
						_, _ = pw.Write([]byte(body[half:]))
						_ = pw.Close()
					}()
					req, err := http.NewRequest("PUT", p.base+"/apisix/admin/routes/"+id, pr)
					if err != nil {
						results <- result{id: id, err: err}
						return
					}
					req.ContentLength = int64(len(body))
					req.Header.Set("X-API-KEY", key)
					req.Header.Set("Content-Type", "application/json")
					resp, err := p.client.Do(req)
					if err != nil {
						_ = pr.CloseWithError(err)
						results <- result{id: id, err: err}
						return
					}
					b, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					results <- result{id: id, code: resp.StatusCode, body: b, err: err}
				}()
			}
			for range slow {
				select {
				case <-started:
				case <-time.After(10 * time.Second):
					t.Fatal("slow requests did not start within 10s")
				}
			}

			// A steady stream of quick reads on its own connections.
			var (
				signalled          atomic.Bool
				beforeOK, afterOK  atomic.Int64
				afterRefused       atomic.Int64
				streamMu           sync.Mutex
				streamErrs         []string
				streamDone         = make(chan struct{})
				streamCtx, endLoop = context.WithTimeout(context.Background(), 20*time.Second)
			)
			defer endLoop()
			quick := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
			go func() {
				defer close(streamDone)
				for streamCtx.Err() == nil {
					req, _ := http.NewRequestWithContext(streamCtx, "GET", p.base+"/apisix/admin/routes", nil)
					req.Header.Set("X-API-KEY", key)
					resp, err := quick.Do(req)
					// A request that ends after the signal raced with it:
					// the listener may have refused or reset it, or the
					// server read it only after Shutdown began (net/http
					// then closes the connection without an answer). None of
					// these was in flight when the signal came.
					after := signalled.Load()
					switch {
					case err == nil:
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != http.StatusOK {
							streamMu.Lock()
							streamErrs = append(streamErrs, fmt.Sprintf("status %d (after signal: %v)", resp.StatusCode, after))
							streamMu.Unlock()
						} else if after {
							afterOK.Add(1)
						} else {
							beforeOK.Add(1)
						}
					case after && (errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
						errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)):
						afterRefused.Add(1)
						if p.hasExited() {
							return
						}
					default:
						streamMu.Lock()
						streamErrs = append(streamErrs, fmt.Sprintf("%v (after signal: %v)", err, after))
						streamMu.Unlock()
					}
					time.Sleep(10 * time.Millisecond)
				}
			}()

			time.Sleep(300 * time.Millisecond) // the server reads the slow requests' headers
			signalled.Store(true)
			sigAt := time.Now()
			p.signal(tc.sig)

			// While requests are in flight the process must keep running.
			time.Sleep(time.Second)
			if p.hasExited() {
				t.Fatalf("stargate exited %v after %v with %d requests in flight", p.state, tc.desc, slow)
			}
			close(release)
			for range slow {
				select {
				case r := <-results:
					if r.err != nil {
						t.Errorf("in-flight PUT %s failed after %v: %v", r.id, tc.desc, r.err)
					} else if r.code != http.StatusCreated {
						t.Errorf("in-flight PUT %s: status %d, want 201: %s", r.id, r.code, r.body)
					}
				case <-time.After(shutdownTimeout):
					t.Fatalf("in-flight requests did not complete within %v", shutdownTimeout)
				}
			}
			code, ok := p.wait(shutdownTimeout - time.Since(sigAt) + 2*time.Second)
			exitAfter := time.Since(sigAt)
			if !ok {
				t.Fatalf("stargate still running %v after %v (shutdown timeout %v)", exitAfter, tc.desc, shutdownTimeout)
			}
			if code != 0 {
				t.Errorf("exit code %d after %v, want 0", code, tc.desc)
			}
			select {
			case <-streamDone:
			case <-time.After(10 * time.Second):
				t.Fatal("request stream did not stop")
			}
			streamMu.Lock()
			if len(streamErrs) > 0 {
				t.Errorf("%d requests of the stream failed other than by a refused connection, first: %s", len(streamErrs), strings.Join(streamErrs[:min(5, len(streamErrs))], "; "))
			}
			streamMu.Unlock()
			logs := p.stderr.String()
			for _, want := range []string{`msg="shutting down"`, `msg="store closed"`} {
				if !strings.Contains(logs, want) {
					t.Errorf("stderr lacks %s", want)
				}
			}
			for _, bad := range []string{"did not drain", "level=ERROR", "panic"} {
				if strings.Contains(logs, bad) {
					t.Errorf("stderr contains %q", bad)
				}
			}
			t.Logf("%v: exit %d after %v; stream: %d ok before, %d ok and %d refused/reset after the signal",
				tc.desc, code, exitAfter.Round(time.Millisecond), beforeOK.Load(), afterOK.Load(), afterRefused.Load())

			// The bbolt file is not left locked, and the drained writes are there.
			p2 := start(t, opts)
			for k := range slow {
				id := fmt.Sprintf("slow-%d", k)
				e := decode[envelope](t, p2.must("GET", "/apisix/admin/routes/"+id, "", "", http.StatusOK))
				if !strings.Contains(string(e.Value), `"uri":"/slow/`+id+`"`) {
					t.Errorf("after restart %s = %s", id, e.Value)
				}
			}
			p2.stop()
		})
	}
}

// TestDataDirLocked: a second process on a data dir in use fails fast and
// clearly (the bbolt lock), and the first keeps serving.
func TestDataDirLocked(t *testing.T) {
	const key = "lock-test-key"
	opts := startOpts{dataDir: t.TempDir(), args: []string{"--admin-key", key}, key: key}
	p := start(t, opts)
	second := launch(t, opts)
	code, ok := second.wait(10 * time.Second)
	if !ok {
		t.Fatal("a second stargate on the same data dir was still running after 10s")
	}
	if code != 1 {
		t.Errorf("second process exit code %d, want 1", code)
	}
	if s := second.stderr.String(); !strings.Contains(s, "locked by another process") || strings.Contains(s, "panic") {
		t.Errorf("second process stderr does not say the store is locked:\n%s", s)
	}
	p.must("GET", "/apisix/admin/routes", "", "", http.StatusOK)
	p.stop()
}
