package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/proxy/upstream"
	"github.com/stargate-edge/stargate/internal/snapshot"
	"golang.org/x/net/http/httpguts"
)

// isUpgrade reports a WebSocket handshake: Upgrade: websocket, and
// "upgrade" as a token of Connection (not a substring of another token).
func isUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket") &&
		httpguts.HeaderValuesContainsToken(r.Header["Connection"], "upgrade")
}

// websocket proxies a WebSocket handshake and, once the upstream
// switches protocols, the tunnel. Like nginx:
//
//   - the request goes out as any other (outbound: hop-by-hop headers
//     dropped, X-Forwarded-* and X-Real-IP set), plus the Upgrade;
//   - the upstream has the read timeout to answer;
//   - an answer other than 101 goes back through the response phase
//     (plugins' headers and filters) like any response;
//   - the tunnel is closed when neither side sent anything for the read
//     timeout (proxy_read_timeout), so a dead peer or an idle client
//     does not hold an upstream connection and two goroutines forever;
//   - the node's result is reported once, whatever happens after.
//
// It runs off the event loop (forward offloads it) and leaves the status
// for the log in pc.
func (h *Handler) websocket(w http.ResponseWriter, r *http.Request, pc *plugin.Ctx, rt *snapshot.Route, up *upstream.Upstream, rv *reqVars, chain *plugin.Chain, snap *snapshot.Snapshot) {
	timeouts := routeTimeouts(rt, up)
	rv.hash = hashInput{reqVars: rv}
	node, done, err := up.Pick(-1, &rv.hash, nil) // a long-lived exchange, off the hot path
	if err != nil {
		pc.Exit(http.StatusBadGateway, badGateway)
		h.exit(w, pc, snap, chain)
		return
	}
	out, _, _ := h.outbound(r, up, node, rv, nil, nil)
	reqType := r.Header.Get("Upgrade")
	out.Header["Connection"] = []string{"Upgrade"}
	out.Header["Upgrade"] = []string{reqType}

	// The same timers as any exchange through net/http's transport: the
	// read timeout for the answer's headers, then for each read of a
	// refusal's body.
	t0 := time.Now()
	resp, x, err := viaTransport(r, out, rt, up, timeouts)
	lat := time.Since(t0)
	if err != nil {
		timedOut := errors.Is(err, context.DeadlineExceeded)
		done(upstream.Result{Err: err, Timeout: timedOut, Latency: lat})
		if r.Context().Err() != nil {
			pc.Status = 499 // the client went away
			return
		}
		h.log.Warn("proxy: websocket upstream failed", "route", rt.ID, "err", err)
		if timedOut {
			pc.Exit(http.StatusGatewayTimeout, gwTimeout)
		} else {
			pc.Exit(http.StatusBadGateway, badGateway)
		}
		h.exit(w, pc, snap, chain)
		return
	}
	defer x.end()
	done(upstream.Result{Status: resp.StatusCode, Latency: lat})
	pc.UpstreamLatency, pc.UpstreamStatus, pc.UpstreamAddr = lat, resp.StatusCode, node.Addr

	if resp.StatusCode != http.StatusSwitchingProtocols {
		// Refused (401, 403, 404...): an ordinary answer.
		removeHop(resp.Header)
		resp.Body = x.body(resp.Body)
		h.respond(w, resp, pc, chain, snap)
		return
	}
	back, ok := resp.Body.(io.ReadWriteCloser)
	resType := resp.Header.Get("Upgrade")
	if !ok || !strings.EqualFold(resType, reqType) {
		resp.Body.Close()
		h.log.Warn("proxy: websocket upstream switched to another protocol", "route", rt.ID, "upgrade", resType)
		pc.Exit(http.StatusBadGateway, badGateway)
		h.exit(w, pc, snap, chain)
		return
	}
	defer back.Close()

	removeHop(resp.Header)
	hdr := responseHeader(pc, resp, chain, snap)
	hdr.Del("Content-Length")
	hdr.Del("Transfer-Encoding")
	hdr["Connection"] = []string{"Upgrade"}
	hdr["Upgrade"] = []string{resType}

	pc.Status = http.StatusSwitchingProtocols
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		h.log.Warn("proxy: websocket: cannot take the client connection", "err", err)
		pc.Status = http.StatusInternalServerError
		return
	}
	defer conn.Close()
	brw.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
	_ = hdr.Write(brw)
	brw.WriteString("\r\n")
	if err := brw.Flush(); err != nil {
		return // the client is gone
	}
	pc.BytesSent, _ = tunnel(conn, brw.Reader, back, timeouts.Read)
}

// tunnel copies both ways until both directions ended or neither side
// sent anything for idle (0: no limit), and returns the bytes sent to
// the client and to the upstream. client is read through its buffered
// reader (bytes that followed the handshake). An end of stream from one
// side is passed on as a half-close when the other side's connection
// can do one; anything else ends the tunnel.
func tunnel(client net.Conn, clientR *bufio.Reader, back io.ReadWriteCloser, idle time.Duration) (toClient, toBack int64) {
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	var once sync.Once
	end := func() {
		once.Do(func() {
			client.Close()
			back.Close()
		})
	}
	pipe := func(dst io.Writer, src io.Reader, n *int64, wg *sync.WaitGroup) {
		defer wg.Done()
		buf := make([]byte, 32<<10)
		for {
			k, err := src.Read(buf)
			if k > 0 {
				last.Store(time.Now().UnixNano())
				if _, werr := dst.Write(buf[:k]); werr != nil {
					end()
					return
				}
				*n += int64(k)
			}
			if err != nil {
				cw, ok := dst.(interface{ CloseWrite() error })
				if !errors.Is(err, io.EOF) || !ok || cw.CloseWrite() != nil {
					end()
				}
				return
			}
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go pipe(back, clientR, &toBack, &wg)
	go pipe(client, back, &toClient, &wg)
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	if idle <= 0 {
		<-finished
		end()
		return
	}
	t := time.NewTimer(idle)
	defer t.Stop()
	for {
		select {
		case <-finished:
			end()
			return
		case <-t.C:
			quiet := time.Since(time.Unix(0, last.Load()))
			if quiet >= idle {
				end()
				<-finished
				return
			}
			t.Reset(idle - quiet)
		}
	}
}
