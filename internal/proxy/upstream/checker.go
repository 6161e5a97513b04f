package upstream

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// probeTarget is one node as the active checker sees it.
type probeTarget struct {
	state *nodeState
	addr  string // dial address: node host, checks.active.port or node port
	host  string // Host header override (checks.active.host), "" = default
}

func probeTargets(a *activeConf, nodes []*Node, states []*nodeState) []*probeTarget {
	seen := make(map[*nodeState]bool, len(nodes))
	out := make([]*probeTarget, 0, len(nodes))
	for i, n := range nodes {
		if seen[states[i]] {
			continue // same address listed twice
		}
		seen[states[i]] = true
		port := n.Port
		if a.port > 0 {
			port = a.port
		}
		out = append(out, &probeTarget{
			state: states[i],
			addr:  net.JoinHostPort(n.Host, strconv.Itoa(port)),
			host:  a.host,
		})
	}
	return out
}

// checker is the active health checker of one upstream key: one goroutine
// that probes healthy nodes every healthy.interval and unhealthy ones every
// unhealthy.interval (lua-resty-healthcheck's two timers), at most
// `concurrency` probes at a time.
type checker struct {
	key     string
	conf    *activeConf
	sig     string
	log     *slog.Logger
	targets atomic.Pointer[[]*probeTarget]

	client *http.Client
	tr     *http.Transport
	dialer net.Dialer

	cancel context.CancelFunc
	done   chan struct{}
}

func startChecker(parent context.Context, log *slog.Logger, key string, a *activeConf, sig string, targets []*probeTarget) *checker {
	ctx, cancel := context.WithCancel(parent)
	c := &checker{key: key, conf: a, sig: sig, log: log, cancel: cancel, done: make(chan struct{})}
	c.targets.Store(&targets)
	if a.typ != "tcp" {
		c.tr = &http.Transport{
			Proxy:              nil,
			DialContext:        c.dialer.DialContext,
			DisableKeepAlives:  true, // every probe opens a connection, as lua-resty-healthcheck
			DisableCompression: true,
			TLSClientConfig: &tls.Config{
				InsecureSkipVerify: !a.verify, //nolint:gosec // https_verify_certificate
				ServerName:         a.host,
			},
		}
		c.client = &http.Client{
			Transport:     c.tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	go c.run(ctx)
	return c
}

// stop cancels the checker and waits until its goroutines are gone.
func (c *checker) stop() {
	c.cancel()
	<-c.done
}

func (c *checker) run(ctx context.Context) {
	defer close(c.done)
	if c.tr != nil {
		defer c.tr.CloseIdleConnections()
	}
	var hc, uc <-chan time.Time
	if c.conf.healthyInterval > 0 {
		t := time.NewTicker(c.conf.healthyInterval)
		defer t.Stop()
		hc = t.C
	}
	if c.conf.unhealthyInterval > 0 {
		t := time.NewTicker(c.conf.unhealthyInterval)
		defer t.Stop()
		uc = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-hc:
			c.round(ctx, true)
		case <-uc:
			c.round(ctx, false)
		}
	}
}

// round probes the targets that are currently up (or down).
func (c *checker) round(ctx context.Context, up bool) {
	all := *c.targets.Load()
	due := make([]*probeTarget, 0, len(all))
	for _, t := range all {
		if t.state.up.Load() == up {
			due = append(due, t)
		}
	}
	if len(due) == 0 {
		return
	}
	workers := min(c.conf.concurrency, len(due))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				j := int(next.Add(1) - 1)
				if j >= len(due) || ctx.Err() != nil {
					return
				}
				c.probe(ctx, due[j])
			}
		})
	}
	wg.Wait()
}

type outcome int

const (
	outIgnore outcome = iota
	outSuccess
	outHTTPFailure
	outTCPFailure
	outTimeout
)

func (c *checker) probe(ctx context.Context, t *probeTarget) {
	pctx, cancel := context.WithTimeout(ctx, c.conf.timeout)
	defer cancel()
	var out outcome
	if c.conf.typ == "tcp" {
		out = c.probeTCP(pctx, t)
	} else {
		out = c.probeHTTP(pctx, t)
	}
	if ctx.Err() != nil {
		return // stopping: the failure is ours
	}
	a := c.conf
	switch out {
	case outSuccess:
		reportHealth(c.log, c.key, t.state, true, ctrSuccess, a.successes, "active")
	case outHTTPFailure:
		reportHealth(c.log, c.key, t.state, false, ctrHTTP, a.httpFailures, "active")
	case outTCPFailure:
		reportHealth(c.log, c.key, t.state, false, ctrTCP, a.tcpFailures, "active")
	case outTimeout:
		reportHealth(c.log, c.key, t.state, false, ctrTimeout, a.timeouts, "active")
	}
}

func (c *checker) probeTCP(ctx context.Context, t *probeTarget) outcome {
	conn, err := c.dialer.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		return classifyErr(ctx, err)
	}
	_ = conn.Close()
	return outSuccess
}

func (c *checker) probeHTTP(ctx context.Context, t *probeTarget) outcome {
	a := c.conf
	var body io.Reader
	if a.body != "" {
		body = strings.NewReader(a.body)
	}
	req, err := http.NewRequestWithContext(ctx, a.method, a.typ+"://"+t.addr+a.path, body)
	if err != nil {
		c.log.Error("upstream health check: bad request", "upstream", c.key, "err", err)
		return outIgnore
	}
	if t.host != "" {
		req.Host = t.host
	}
	for _, h := range a.headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			continue
		}
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if strings.EqualFold(name, "host") {
			req.Host = value
			continue
		}
		req.Header.Add(name, value)
	}
	req.Header.Set("User-Agent", "stargate-healthcheck")
	resp, err := c.client.Do(req)
	if err != nil {
		return classifyErr(ctx, err)
	}
	_ = resp.Body.Close()
	switch {
	case a.healthyStatuses.has(resp.StatusCode):
		return outSuccess
	case a.unhealthyStatuses.has(resp.StatusCode):
		return outHTTPFailure
	}
	return outIgnore // in neither list: lua-resty-healthcheck ignores it
}

func classifyErr(ctx context.Context, err error) outcome {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return outTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return outTimeout
	}
	return outTCPFailure
}
