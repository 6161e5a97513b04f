package upstream

import (
	"context"
	"errors"
	"github.com/stargate-edge/stargate/internal/http1/client"
	"log/slog"
	"net/http"
	"sort"
	"time"
)

// Errors returned by Pick; both mean "answer 502/503 without trying".
var (
	ErrNoNodes  = errors.New("upstream: no valid upstream node")
	ErrAllTried = errors.New("upstream: all upstream nodes tried")
)

// Node is one upstream node. Nodes are immutable once compiled.
type Node struct {
	Host     string // without brackets for IPv6
	Port     int    // defaulted from the scheme when absent (80 http/grpc, 443 https/grpcs)
	Weight   int
	Priority int
	Addr     string // host:port to dial, IPv6 bracketed
	// HostHeader is the Host to send with pass_host "node": the host,
	// bracketed when IPv6, with ":port" unless the port is the scheme's
	// standard one (APISIX balancer.lua parse_server_for_upstream_host).
	HostHeader string
	Metadata   map[string]any

	idx int // index in Upstream.nodes
}

// HashInput supplies the request values the chash balancer hashes:
// hash_on vars → Var(key) (remote_addr, uri, arg_x, ...), header →
// Header(key), cookie → Cookie(key), consumer → Consumer(),
// vars_combinations → the key template with each $var replaced by Var.
// When the value is missing or empty the key falls back to
// Var("remote_addr"), as APISIX chash.lua does.
type HashInput interface {
	Var(name string) (string, bool)
	Header(name string) string
	Cookie(name string) string
	Consumer() string
}

// Result is the outcome of one attempt on a picked node.
type Result struct {
	Status  int           // response status; 0 when no response was received
	Err     error         // connect/transport failure; context.Canceled means the client left and is ignored
	Timeout bool          // the attempt timed out (connect, send or read)
	Latency time.Duration // connect + response time (ewma); 0 = not measured
}

// Done reports the outcome of an attempt. It must be called exactly once per
// successful Pick: it releases the in-flight count (least_conn, ewma,
// Status) and feeds ewma latencies and passive health checks.
type Done func(r Result)

// NodeStatus is a node's state for debug endpoints and metrics.
type NodeStatus struct {
	Addr    string
	Healthy bool
	Active  int // requests in flight
}

// Upstream is a compiled, immutable upstream. Its long-lived state (health,
// in-flight counts, ewma scores, connection pools) belongs to the Manager
// and is shared with the other Upstreams compiled for the same key.
type Upstream struct {
	Key          string
	Type         string // roundrobin, chash, least_conn, ewma
	Scheme       string // http, https, grpc, grpcs, tcp, tls, udp, kafka
	PassHost     string // pass, node, rewrite
	UpstreamHost string // pass_host rewrite: the Host to send
	HashOn       string
	HashKey      string
	Timeout      Timeouts
	// Retries is how many other attempts may follow a failed one. Default
	// (retries absent) is len(nodes)-1, as APISIX balancer.lua
	// set_balancer_opts, i.e. every node is tried once.
	Retries      int
	RetryTimeout time.Duration // 0 = no limit
	Keepalive    KeepalivePool
	TLS          TLSSettings

	nodes    []*Node
	states   []*nodeState
	weights  []int64 // effective weights: 0 never picked (see doc.go)
	groups   []group // by priority, highest first
	bal      balancer
	done     []Done
	checked  bool // checks configured: Pick filters unhealthy nodes
	passive  *passiveConf
	coolDown time.Duration // > 0: passive-only checks, down nodes come back after it
	isEWMA   bool

	entry     *entry
	tset      transportSettings
	transport *http.Transport
	h1        *client.Transport
	log       *slog.Logger
}

// group is the set of node indexes sharing one priority.
type group struct {
	priority int
	idx      []int
}

// Nodes returns the nodes in configuration order (map-form nodes sorted by
// address). The slice must not be modified.
func (u *Upstream) Nodes() []*Node { return u.nodes }

// Healthy reports whether n is considered healthy: always true when the
// upstream has no checks.
func (u *Upstream) Healthy(n *Node) bool {
	i, ok := u.index(n)
	if !ok {
		return false
	}
	return u.isUp(i)
}

// Status returns every node's address, health and in-flight count.
func (u *Upstream) Status() []NodeStatus {
	out := make([]NodeStatus, len(u.nodes))
	for i, n := range u.nodes {
		out[i] = NodeStatus{Addr: n.Addr, Healthy: u.isUp(i), Active: int(u.states[i].active.Load())}
	}
	return out
}

// Transport returns the upstream's pooled transport, shared across
// compiles of the same key while the settings it is built from are
// unchanged.
func (u *Upstream) Transport() *http.Transport { return u.transport }

// H1 returns the lean HTTP/1.1 client for a plain-http upstream (nil for
// other schemes): no goroutine hand-offs per request, the read timeout
// applied between reads as nginx's proxy_read_timeout. WebSocket upgrades
// and TLS still go through Transport.
func (u *Upstream) H1() *client.Transport { return u.h1 }

func (u *Upstream) index(n *Node) (int, bool) {
	if n == nil {
		return 0, false
	}
	if n.idx < len(u.nodes) && u.nodes[n.idx] == n {
		return n.idx, true
	}
	for i, m := range u.nodes {
		if m.Addr == n.Addr {
			return i, true
		}
	}
	return 0, false
}

func (u *Upstream) isUp(i int) bool {
	if !u.checked {
		return true
	}
	s := u.states[i]
	if s.up.Load() {
		return true
	}
	if u.coolDown > 0 {
		return s.cooldown(u.coolDown)
	}
	return false
}

// Pick chooses the node for the next attempt. Nodes in tried (earlier
// attempts of this request) are skipped, and so are unhealthy nodes unless
// every node of positive weight is unhealthy, in which case health is
// ignored (APISIX balancer.lua fetch_health_nodes). Nodes of a lower
// priority are used only when no node of a higher priority is left. An
// upstream with a single node always returns it (APISIX pick_server). The
// returned Done must be called exactly once. worker is the caller's event
// loop (plugin.Ctx.Worker; -1 off the loops): it picks the stripe of the
// in-flight count the request is counted in (see inflight).
func (u *Upstream) Pick(worker int, in HashInput, tried []*Node) (*Node, Done, error) {
	st := stripeOf(worker)
	switch len(u.nodes) {
	case 0:
		return nil, nil, ErrNoNodes
	case 1:
		u.states[0].active.add(st, 1)
		return u.nodes[0], u.done[st], nil
	}
	ignoreHealth := !u.anyUp()
	for {
		for gi := range u.groups {
			if i := u.bal.pick(u, gi, in, tried, ignoreHealth); i >= 0 {
				u.states[i].active.add(st, 1)
				return u.nodes[i], u.done[i*stripes+st], nil
			}
		}
		if ignoreHealth {
			break // nothing left at all
		}
		// Some node looked healthy yet none was eligible. With nothing
		// tried that means health changed under us (the last healthy
		// nodes went down): use all nodes, as when all are unhealthy.
		// Otherwise look again only if no node is healthy any more; if
		// some still are, they have all been tried.
		if len(tried) > 0 && u.anyUp() {
			break
		}
		ignoreHealth = true
	}
	if len(tried) == 0 {
		return nil, nil, ErrNoNodes
	}
	return nil, nil, ErrAllTried
}

// anyUp tells whether some node of positive weight is healthy; when none
// is, health is ignored.
func (u *Upstream) anyUp() bool {
	if !u.checked {
		return false
	}
	for i := range u.nodes {
		if u.weights[i] > 0 && u.isUp(i) {
			return true
		}
	}
	return false
}

// eligible tells whether node i may be picked now.
func (u *Upstream) eligible(i int, tried []*Node, ignoreHealth bool) bool {
	if u.weights[i] <= 0 {
		return false
	}
	n := u.nodes[i]
	for _, t := range tried {
		if t == n || t != nil && t.Addr == n.Addr {
			return false
		}
	}
	return ignoreHealth || u.isUp(i)
}

// finish is the body of every node's Done.
func (u *Upstream) finish(i, stripe int, r Result) {
	s := u.states[i]
	s.active.add(stripe, -1)
	if r.Err != nil && errors.Is(r.Err, context.Canceled) && !r.Timeout {
		return // the client went away: says nothing about the node
	}
	failed := r.Timeout || (r.Err != nil && r.Status == 0)
	if u.isEWMA {
		lat := r.Latency
		if failed && lat < ewmaFailurePenalty {
			lat = ewmaFailurePenalty
		}
		if lat > 0 {
			s.observe(lat, monoNow())
		}
	}
	if p := u.passive; p != nil {
		switch {
		case r.Timeout:
			u.reportHealth(s, false, ctrTimeout, p.timeouts, "passive")
		case r.Err != nil && r.Status == 0:
			u.reportHealth(s, false, ctrTCP, p.tcpFailures, "passive")
		case r.Status > 0:
			if p.healthyStatuses.has(r.Status) {
				u.reportHealth(s, true, ctrSuccess, p.successes, "passive")
			} else if p.unhealthyStatuses.has(r.Status) {
				u.reportHealth(s, false, ctrHTTP, p.httpFailures, "passive")
			}
		}
	}
}

func (u *Upstream) reportHealth(s *nodeState, success bool, kind, limit int, check string) {
	reportHealth(u.log, u.Key, s, success, kind, limit, check)
}

func reportHealth(log *slog.Logger, key string, s *nodeState, success bool, kind, limit int, check string) {
	changed, up, st, c := s.report(success, kind, limit)
	if changed {
		log.Warn("upstream node health changed", "upstream", key, "node", s.addr,
			"healthy", up, "state", st.String(), "check", check,
			"counter", counterNames[kind], "count", c, "threshold", limit)
	}
}

// buildGroups orders node indexes by priority, highest first, keeping
// configuration order inside a priority.
func buildGroups(nodes []*Node) []group {
	order := make([]int, len(nodes))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return nodes[order[a]].Priority > nodes[order[b]].Priority })
	var groups []group
	for _, i := range order {
		p := nodes[i].Priority
		if len(groups) == 0 || groups[len(groups)-1].priority != p {
			groups = append(groups, group{priority: p})
		}
		g := &groups[len(groups)-1]
		g.idx = append(g.idx, i)
	}
	return groups
}
