package httplogger

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
)

// Bounds of one logger's buffer (entries waiting, being sent or waiting
// for a retry). plugin_metadata's max_pending_entries replaces the entry
// bound; the byte bound counts bodies plus a fixed cost per entry.
const (
	defaultMaxPending = 10000
	maxPendingBytes   = 64 << 20
)

// Metrics (namespace stargate, subsystem = package), for the process
// registry.
var (
	sentEntries = prom.NewCounter(prom.CounterOpts{Namespace: "stargate", Subsystem: "httplogger",
		Name: "sent_entries_total", Help: "Log entries the collectors accepted."})
	droppedEntries = prom.NewCounterVec(prom.CounterOpts{Namespace: "stargate", Subsystem: "httplogger",
		Name: "dropped_entries_total", Help: "Log entries dropped: buffer_full (the logger's bound was reached) or send_failed (retries exhausted)."},
		[]string{"reason"})
	droppedFull   = droppedEntries.WithLabelValues("buffer_full")
	droppedFailed = droppedEntries.WithLabelValues("send_failed")
	sendErrors    = prom.NewCounter(prom.CounterOpts{Namespace: "stargate", Subsystem: "httplogger",
		Name: "send_errors_total", Help: "Failed attempts to send a batch (connection errors, timeouts, status >= 400)."})
	pendingGauge = prom.NewGaugeFunc(prom.GaugeOpts{Namespace: "stargate", Subsystem: "httplogger",
		Name: "pending_entries", Help: "Log entries buffered or being sent."}, pendingTotal)
)

// Collectors returns the plugin's metrics for the process registry.
func Collectors() []prom.Collector {
	return []prom.Collector{sentEntries, droppedEntries, sendErrors, pendingGauge}
}

// processors holds a processor per logger identity (the configured
// object's key plus its configuration), so that a recompiled snapshot
// keeps the buffer and the goroutine of the one it replaces.
var processors = struct {
	sync.Mutex
	m map[string]*processor
}{m: map[string]*processor{}}

// processor is APISIX's batch processor for one logger: entries collect
// in a buffer that is cut into a batch when it holds batch_max_size
// entries, when no entry came for inactive_timeout, or when its oldest
// entry is buffer_duration old. One goroutine, alive only while there is
// something to send, sends batches one at a time and retries a failed one
// max_retry_count times, retry_delay apart, before dropping it.
type processor struct {
	key    string
	cfg    *config
	client *http.Client
	tr     *http.Transport
	wake   chan struct{}
	refs   int // instances using it; guarded by processors

	mu           sync.Mutex
	buf          []item
	first, last  time.Time
	batches      []*batch
	pending      int
	pendingBytes int64
	running      bool
	flushNow     bool
}

type batch struct {
	items     []item
	bytes     int64
	retries   int
	notBefore time.Time
}

func acquire(key string, cfg *config) *processor {
	processors.Lock()
	defer processors.Unlock()
	p := processors.m[key]
	if p == nil {
		p = newProcessor(key, cfg)
		processors.m[key] = p
	}
	p.refs++
	return p
}

// release runs when a compiled instance is garbage: the processor is
// forgotten once nothing uses it and it has nothing left to send.
func release(p *processor) {
	processors.Lock()
	defer processors.Unlock()
	p.refs--
	p.forgetLocked()
}

func (p *processor) forgetLocked() {
	if p.refs > 0 || processors.m[p.key] != p {
		return
	}
	p.mu.Lock()
	idle := !p.running && p.pending == 0
	p.mu.Unlock()
	if idle {
		delete(processors.m, p.key)
	}
}

func newProcessor(key string, cfg *config) *processor {
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: cfg.timeout}).DialContext,
		TLSClientConfig:       &tls.Config{InsecureSkipVerify: !cfg.sslVerify}, //nolint:gosec // ssl_verify defaults to false in APISIX
		TLSHandshakeTimeout:   cfg.timeout,
		ResponseHeaderTimeout: cfg.timeout,
		MaxIdleConnsPerHost:   1,
		IdleConnTimeout:       30 * time.Second,
	}
	return &processor{
		key: key, cfg: cfg, tr: tr, wake: make(chan struct{}, 1),
		client: &http.Client{Transport: tr, Timeout: cfg.timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
}

func maxPending() int {
	if m := meta.Load(); m != nil && m.maxPending > 0 {
		return m.maxPending
	}
	return defaultMaxPending
}

// push queues an entry, or drops and counts it when the buffer is full.
// It never blocks on the collector.
func (p *processor) push(it item) {
	p.mu.Lock()
	if p.pending >= maxPending() || p.pendingBytes+it.size > maxPendingBytes {
		p.mu.Unlock()
		droppedFull.Inc()
		return
	}
	now := time.Now()
	wake := false
	if len(p.buf) == 0 {
		p.first, wake = now, true
	}
	p.last = now
	p.buf = append(p.buf, it)
	p.pending++
	p.pendingBytes += it.size
	if len(p.buf) >= p.cfg.batchMaxSize {
		p.cutLocked()
		wake = true
	}
	start := !p.running
	p.running = true
	p.mu.Unlock()
	if start {
		go p.run()
	} else if wake {
		p.signal()
	}
}

func (p *processor) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// cutLocked turns the buffer into a batch ready to send.
func (p *processor) cutLocked() {
	b := &batch{items: p.buf}
	for _, it := range p.buf {
		b.bytes += it.size
	}
	p.batches = append(p.batches, b)
	p.buf = nil
}

func (p *processor) run() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		p.mu.Lock()
		now := time.Now()
		if len(p.buf) > 0 && (p.flushNow || !now.Before(p.last.Add(p.cfg.inactiveTimeout)) ||
			!now.Before(p.first.Add(p.cfg.bufferDuration))) {
			p.cutLocked()
		}
		var b *batch
		var next time.Time
		for i, x := range p.batches {
			if p.flushNow || !x.notBefore.After(now) {
				b = x
				p.batches = append(p.batches[:i], p.batches[i+1:]...)
				break
			}
			if next.IsZero() || x.notBefore.Before(next) {
				next = x.notBefore
			}
		}
		if b == nil {
			if len(p.buf) > 0 {
				d := p.last.Add(p.cfg.inactiveTimeout)
				if full := p.first.Add(p.cfg.bufferDuration); full.Before(d) {
					d = full
				}
				if next.IsZero() || d.Before(next) {
					next = d
				}
			}
			if next.IsZero() {
				// Nothing buffered, nothing to send: stop until the
				// next entry.
				p.running, p.flushNow = false, false
				p.mu.Unlock()
				p.tr.CloseIdleConnections()
				processors.Lock()
				p.forgetLocked()
				processors.Unlock()
				return
			}
		}
		flushing := p.flushNow
		p.mu.Unlock()

		if b == nil {
			timer.Reset(time.Until(next))
			select {
			case <-timer.C:
			case <-p.wake:
			}
			continue
		}
		err := p.send(b.items)
		p.mu.Lock()
		switch {
		case err == nil:
			p.doneLocked(b)
			sentEntries.Add(float64(len(b.items)))
		case b.retries < p.cfg.maxRetry && !flushing:
			sendErrors.Inc()
			b.retries++
			b.notBefore = time.Now().Add(p.cfg.retryDelay)
			p.batches = append(p.batches, b)
		default:
			sendErrors.Inc()
			p.doneLocked(b)
			droppedFailed.Add(float64(len(b.items)))
		}
		p.mu.Unlock()
	}
}

func (p *processor) doneLocked(b *batch) {
	p.pending -= len(b.items)
	p.pendingBytes -= b.bytes
}

// send posts one batch. The collector must answer below 400 within the
// configured timeout.
func (p *processor) send(items []item) error {
	body, err := encodeBatch(p.cfg, items)
	if err != nil {
		return fmt.Errorf("http-logger: encode: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.cfg.uri, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if p.cfg.newLine {
		req.Header.Set("Content-Type", "text/plain")
	} else {
		req.Header.Set("Content-Type", "application/json")
	}
	if p.cfg.authHeader != "" {
		req.Header.Set("Authorization", p.cfg.authHeader)
	}
	res, err := p.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	if res.StatusCode >= 400 {
		return fmt.Errorf("http-logger: server returned status code[%d]", res.StatusCode)
	}
	return nil
}

func pendingTotal() float64 {
	processors.Lock()
	defer processors.Unlock()
	n := 0
	for _, p := range processors.m {
		p.mu.Lock()
		n += p.pending
		p.mu.Unlock()
	}
	return float64(n)
}

// Flush sends every buffered entry now, without waiting for batch_max_size
// or the timers, and waits until every logger is done or ctx ends. A batch
// that fails is dropped rather than retried. Call it at shutdown, after
// the proxy stopped taking requests; loggers keep working afterwards.
func Flush(ctx context.Context) error {
	processors.Lock()
	list := make([]*processor, 0, len(processors.m))
	for _, p := range processors.m {
		list = append(list, p)
	}
	processors.Unlock()
	for _, p := range list {
		p.mu.Lock()
		start := false
		if p.pending > 0 {
			p.flushNow = true
			start = !p.running
			p.running = true
		}
		p.mu.Unlock()
		if start {
			go p.run()
		} else {
			p.signal()
		}
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		busy := false
		for _, p := range list {
			p.mu.Lock()
			busy = busy || p.running
			p.mu.Unlock()
		}
		if !busy {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(errors.New("http-logger: flush"), ctx.Err())
		case <-tick.C:
		}
	}
}
