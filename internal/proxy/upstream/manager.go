package upstream

import (
	"context"
	"crypto/tls"
	"errors"
	"github.com/stargate-edge/stargate/internal/http1/client"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// ErrClosed is returned by Compile after Close.
var ErrClosed = errors.New("upstream: manager closed")

// defaultPassiveCoolDown is how long a node ejected by passive checks stays
// out when no active checker can bring it back: nginx's fail_timeout
// default (max_fails/fail_timeout passive checks).
const defaultPassiveCoolDown = 10 * time.Second

// Option configures a Manager.
type Option func(*options)

type options struct {
	clientCert      func(id string) (*tls.Certificate, error)
	decryptKey      func(string) (string, error)
	passiveCoolDown time.Duration
}

// WithClientCert sets the resolver of tls.client_cert_id (an `ssls` object
// of type client). Without it such upstreams fail to compile.
func WithClientCert(fn func(id string) (*tls.Certificate, error)) Option {
	return func(o *options) { o.clientCert = fn }
}

// WithKeyDecrypter sets how an encrypted tls.client_key is decrypted
// (tlscert.Keyring.Decrypt). Clear PEM keys need none.
func WithKeyDecrypter(fn func(string) (string, error)) Option {
	return func(o *options) { o.decryptKey = fn }
}

// WithPassiveCoolDown sets how long a node marked unhealthy by passive
// checks alone stays out before it is tried again (default 10 s). It has no
// effect on upstreams with active checks, which bring nodes back by probing.
func WithPassiveCoolDown(d time.Duration) Option {
	return func(o *options) { o.passiveCoolDown = d }
}

// Manager owns the long-lived state of upstreams, keyed by a stable key
// ("upstreams/<id>", or "routes/<id>" / "services/<id>" for inline
// upstreams): node health, in-flight counts, ewma scores, connection pools
// and active health checkers. It survives snapshot swaps; Compile, Retain
// and Close are safe for concurrent use.
type Manager struct {
	log  *slog.Logger
	opts options

	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	closed  bool
	entries map[string]*entry
}

// entry is the state kept for one key.
type entry struct {
	key       string
	states    map[string]*nodeState // by node address
	checksSig string
	tset      transportSettings
	transport *http.Transport
	h1        *client.Transport // plain-http upstreams: the lean client
	checker   *checker
	ringSig   string        // chash rings reused while nodes are unchanged
	rings     [][]ringPoint // immutable

	sniMu    sync.Mutex
	sni      map[string]*http.Transport
	sniOrder []string
	sniBase  *http.Transport
}

// NewManager returns an empty Manager. log may be nil.
func NewManager(log *slog.Logger, opts ...Option) *Manager {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Manager{
		log:     log,
		opts:    options{passiveCoolDown: defaultPassiveCoolDown},
		entries: make(map[string]*entry),
	}
	for _, o := range opts {
		o(&m.opts)
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	return m
}

// Compile builds an immutable Upstream from a decoded upstream object
// (already validated by the upstream JSON schema; numbers may be
// json.Number or float64). State is reused per node address from the
// previous Upstream of the same key; health is reset when the checks
// configuration changes. Compile starts, keeps, restarts or stops the
// key's active health checker. It assumes the Upstream it returns is the
// one that will serve.
func (m *Manager) Compile(key string, conf map[string]any) (*Upstream, error) {
	c, err := parseConfig(conf)
	if err != nil {
		return nil, err
	}
	var cert *tls.Certificate
	var certSum string
	if c.scheme == "https" || c.scheme == "grpcs" {
		if cert, certSum, err = m.loadClientCert(c); err != nil {
			return nil, err
		}
	}

	weights := make([]int64, len(c.nodes))
	allZero := true
	for i, n := range c.nodes {
		weights[i] = int64(n.Weight)
		if n.Weight > 0 {
			allZero = false
		}
	}
	if allZero { // lua-resty-balancer: all-zero weights degrade to plain round robin
		for i := range weights {
			weights[i] = 1
		}
	}
	groups := buildGroups(c.nodes)

	tset := transportSettings{
		scheme:    c.scheme,
		connect:   c.timeout.Connect,
		keepalive: c.keepalive,
		verify:    c.tlsVerify,
		certSum:   certSum,
	}
	if c.passHost == "rewrite" {
		tset.serverName = hostOnly(c.upstreamHost)
	}
	checksSig := ""
	if c.active != nil {
		checksSig += "active:" + c.active.signature()
	}
	if c.passive != nil {
		checksSig += "passive:" + c.passive.signature()
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	e := m.entries[key]
	if e == nil {
		e = &entry{key: key, checksSig: checksSig}
		m.entries[key] = e
	}
	reset := e.checksSig != checksSig
	states := make(map[string]*nodeState, len(c.nodes))
	ustates := make([]*nodeState, len(c.nodes))
	for i, n := range c.nodes {
		s := states[n.Addr]
		if s == nil {
			if s = e.states[n.Addr]; s == nil {
				s = newNodeState(n.Addr)
			} else if reset {
				s.resetHealth()
			}
			states[n.Addr] = s
		}
		ustates[i] = s
	}
	e.states = states
	e.checksSig = checksSig

	if e.transport == nil || e.tset != tset {
		old, oldH1 := e.transport, e.h1
		e.transport = newTransport(tset, cert)
		e.h1 = newH1Transport(tset)
		e.tset = tset
		if old != nil {
			old.CloseIdleConnections()
		}
		if oldH1 != nil {
			oldH1.CloseIdleConnections()
		}
	}

	if c.active == nil {
		if e.checker != nil {
			e.checker.stop()
			e.checker = nil
		}
	} else {
		targets := probeTargets(c.active, c.nodes, ustates)
		sig := c.active.signature()
		if e.checker != nil && e.checker.sig == sig {
			e.checker.targets.Store(&targets)
		} else {
			if e.checker != nil {
				e.checker.stop()
			}
			e.checker = startChecker(m.ctx, m.log, key, c.active, sig, targets)
		}
	}

	u := &Upstream{
		Key:          key,
		Type:         c.typ,
		Scheme:       c.scheme,
		PassHost:     c.passHost,
		UpstreamHost: c.upstreamHost,
		HashOn:       c.hashOn,
		HashKey:      c.key,
		Timeout:      c.timeout,
		Retries:      c.retries,
		RetryTimeout: c.retryTimeout,
		Keepalive:    c.keepalive,
		TLS: TLSSettings{
			Verify:        c.tlsVerify,
			ClientCertID:  c.certID,
			HasClientCert: cert != nil,
		},
		nodes:     c.nodes,
		states:    ustates,
		weights:   weights,
		groups:    groups,
		checked:   c.active != nil || c.passive != nil,
		passive:   c.passive,
		isEWMA:    c.typ == TypeEWMA,
		entry:     e,
		tset:      tset,
		transport: e.transport,
		h1:        e.h1,
		log:       m.log,
	}
	if c.active == nil && c.passive != nil {
		u.coolDown = m.opts.passiveCoolDown
	}
	var rings [][]ringPoint
	if c.typ == TypeCHash {
		sig := ringSignature(c.nodes, weights)
		if e.ringSig != sig || e.rings == nil {
			e.rings, e.ringSig = buildRings(c.nodes, weights, groups), sig
		}
		rings = e.rings
	}
	u.bal = newBalancer(c, c.nodes, weights, groups, rings)
	// One Done per node and stripe: a Done releases the stripe its Pick
	// added to.
	u.done = make([]Done, len(c.nodes)*stripes)
	for i := range c.nodes {
		for st := range stripes {
			u.done[i*stripes+st] = func(r Result) { u.finish(i, st, r) }
		}
	}
	return u, nil
}

// Retain drops the state of every key not in keep: it stops their active
// checkers (waiting for them to exit) and closes their idle connections.
// Call it after each snapshot swap with the keys of the new snapshot.
func (m *Manager) Retain(keep map[string]struct{}) {
	var stop []*checker
	m.mu.Lock()
	for k, e := range m.entries {
		if _, ok := keep[k]; ok {
			continue
		}
		// "routes/1#traffic-split/0/0": an upstream a plugin compiled for
		// a live object lives as long as that object.
		if i := strings.IndexByte(k, '#'); i > 0 {
			if _, ok := keep[k[:i]]; ok {
				continue
			}
		}
		if e.checker != nil {
			stop = append(stop, e.checker)
			e.checker = nil
		}
		e.closeTransports()
		delete(m.entries, k)
	}
	m.mu.Unlock()
	for _, c := range stop {
		c.stop()
	}
}

// Close stops every checker, waits for them and closes idle connections.
// Upstreams already compiled keep working (without health checking).
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	entries := m.entries
	m.entries = make(map[string]*entry)
	m.mu.Unlock()
	m.cancel()
	for _, e := range entries {
		if e.checker != nil {
			e.checker.stop()
		}
		e.closeTransports()
	}
}

// hostOnly strips a port from host[:port] / [v6]:port.
func hostOnly(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	if len(h) > 1 && h[0] == '[' && h[len(h)-1] == ']' {
		return h[1 : len(h)-1]
	}
	return h
}
