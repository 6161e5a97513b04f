package proxy

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/stargate-edge/stargate/internal/proxy/upstream"
	"github.com/stargate-edge/stargate/internal/snapshot"
)

// exchangeTimer bounds an exchange through net/http's transport (TLS and
// gRPC upstreams) the way the lean HTTP/1.1 client bounds one on its
// socket, and nginx its upstreams (proxy_send_timeout,
// proxy_read_timeout):
//
//   - send bounds each piece of the request body the transport writes;
//     waiting for the client's next piece does not count;
//   - read bounds the wait for the response headers once the request is
//     sent, then each read of the response body.
//
// Either firing cancels the exchange. A single timer for the whole
// exchange made an upload slower than the read timeout fail with a 504,
// and left a body that stalled after the headers unbounded.
type exchangeTimer struct {
	cancel     context.CancelFunc
	send, read time.Duration
	sendT      *time.Timer
	readT      *time.Timer
	fired      atomic.Bool
	// answered: the response headers are in. From then on the read timer
	// is the response body's, armed only around its reads; a request
	// body that ends later (an early answer, a gRPC stream) must not arm
	// it while nobody reads.
	answered atomic.Bool
}

func newExchangeTimer(cancel context.CancelFunc, send, read time.Duration) *exchangeTimer {
	x := &exchangeTimer{cancel: cancel, send: send, read: read}
	x.sendT = time.AfterFunc(time.Hour, x.fire)
	x.sendT.Stop()
	x.readT = time.AfterFunc(time.Hour, x.fire)
	x.readT.Stop()
	return x
}

func (x *exchangeTimer) fire() {
	x.fired.Store(true)
	x.cancel()
}

func arm(t *time.Timer, d time.Duration) {
	if d > 0 {
		t.Reset(d)
	}
}

// timedOut reports whether a timer fired: the exchange was cancelled by
// a timeout, not by the client.
func (x *exchangeTimer) timedOut() bool { return x.fired.Load() }

// wrapRequest bounds out's body writes (and those of the copies GetBody
// makes for the transport's own retries); a request without a body
// starts waiting for the headers at once.
func (x *exchangeTimer) wrapRequest(out *http.Request) {
	if out.Body == nil || out.Body == http.NoBody {
		arm(x.readT, x.read)
		return
	}
	out.Body = &sendBody{ReadCloser: out.Body, x: x}
	if gb := out.GetBody; gb != nil {
		out.GetBody = func() (io.ReadCloser, error) {
			rc, err := gb()
			if err != nil {
				return nil, err
			}
			return &sendBody{ReadCloser: rc, x: x}, nil
		}
	}
}

// headers is called when the response headers arrived (or the round
// trip failed); it reports false when the read timer fired first.
func (x *exchangeTimer) headers() bool {
	x.answered.Store(true)
	x.readT.Stop()
	return !x.fired.Load()
}

// sendBody is the request body as net/http's transport reads it: the
// send timer runs while the transport writes what a Read returned.
type sendBody struct {
	io.ReadCloser
	x *exchangeTimer
}

func (b *sendBody) Read(p []byte) (int, error) {
	b.x.sendT.Stop() // the client's pace is not the upstream's
	n, err := b.ReadCloser.Read(p)
	switch {
	case err == io.EOF:
		if !b.x.answered.Load() {
			arm(b.x.readT, b.x.read) // sent: now the headers are awaited
		}
	case n > 0:
		arm(b.x.sendT, b.x.send)
	}
	return n, err
}

// readBody is the response body: each Read is bounded by the read
// timeout; Close ends the exchange (its context and timers).
type readBody struct {
	io.ReadCloser
	x *exchangeTimer
}

func (b *readBody) Read(p []byte) (int, error) {
	arm(b.x.readT, b.x.read)
	n, err := b.ReadCloser.Read(p)
	b.x.readT.Stop()
	return n, err
}

func (b *readBody) Close() error {
	err := b.ReadCloser.Close()
	b.x.end()
	return err
}

// body wraps a response body so that each read is bounded and closing
// it ends the exchange.
func (x *exchangeTimer) body(rc io.ReadCloser) io.ReadCloser { return &readBody{ReadCloser: rc, x: x} }

// end stops the timers and cancels the exchange's context.
func (x *exchangeTimer) end() {
	x.sendT.Stop()
	x.readT.Stop()
	x.cancel()
}

// viaTransport sends out through up's net/http transport (TLS, gRPC and
// WebSocket upstreams) under a new exchangeTimer, with the route's
// connect timeout if it has one. On success the headers are in and the
// caller ends the exchange (x.body, or x.end); on error it is over, and
// a timer that fired makes the error context.DeadlineExceeded.
func viaTransport(r, out *http.Request, rt *snapshot.Route, up *upstream.Upstream, timeouts upstream.Timeouts) (*http.Response, *exchangeTimer, error) {
	ctx, cancel := context.WithCancel(r.Context())
	if rt.Timeout != nil && rt.Timeout.Connect > 0 {
		// A route's own timeout overrides the upstream's dial timeout.
		ctx = upstream.WithConnectTimeout(ctx, rt.Timeout.Connect)
	}
	out = out.WithContext(ctx)
	x := newExchangeTimer(cancel, timeouts.Send, timeouts.Read)
	x.wrapRequest(out)
	resp, err := up.TransportFor(hostOnly(out.Host)).RoundTrip(out)
	if !x.headers() && err == nil {
		// Headers arrived just as the timer fired: treat as a timeout.
		resp.Body.Close()
		err = context.DeadlineExceeded
	}
	if err != nil {
		x.end()
		if x.timedOut() {
			err = context.DeadlineExceeded
		}
		return nil, nil, err
	}
	return resp, x, nil
}
