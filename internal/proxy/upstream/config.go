package upstream

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Defaults taken from APISIX 3.x (schema_def.lua, balancer.lua and the
// nginx.conf template it renders).
const (
	defaultTimeout          = 60 * time.Second // proxy_{connect,send,read}_timeout 60s
	defaultKeepaliveSize    = 320              // nginx_config.http.upstream.keepalive
	defaultKeepaliveIdle    = 60 * time.Second // keepalive_timeout 60s
	defaultKeepaliveReqs    = 1000             // keepalive_requests 1000
	defaultCheckTimeout     = time.Second
	defaultCheckConcurrency = 10
)

// ErrDiscoveryUnsupported is returned by Compile for upstreams that use
// service_name/discovery_type.
var ErrDiscoveryUnsupported = errors.New("upstream: service discovery is not supported yet")

// Balancer types.
const (
	TypeRoundRobin = "roundrobin"
	TypeCHash      = "chash"
	TypeLeastConn  = "least_conn"
	TypeEWMA       = "ewma"
)

// hash_on values.
const (
	HashOnVars             = "vars"
	HashOnHeader           = "header"
	HashOnCookie           = "cookie"
	HashOnConsumer         = "consumer"
	HashOnVarsCombinations = "vars_combinations"
)

// Timeouts are the upstream's connect, send and read timeouts.
type Timeouts struct {
	Connect, Send, Read time.Duration
}

// KeepalivePool is the upstream's keepalive_pool.
type KeepalivePool struct {
	Size        int           // idle connections kept per node (MaxIdleConnsPerHost)
	IdleTimeout time.Duration // 0 = idle connections never expire
	Requests    int           // APISIX keepalive_requests; recorded, not enforced (see doc.go)
}

// TLSSettings are the upstream's tls settings.
type TLSSettings struct {
	Verify        bool   // tls.verify; false (the default) skips server certificate verification, as APISIX
	ClientCertID  string // tls.client_cert_id, resolved through WithClientCert
	HasClientCert bool   // a client certificate is presented (inline or by id)
}

// config is the decoded, defaulted upstream object.
type config struct {
	typ          string
	scheme       string
	passHost     string
	upstreamHost string
	hashOn       string
	key          string
	nodes        []*Node
	retries      int
	retryTimeout time.Duration
	timeout      Timeouts
	keepalive    KeepalivePool
	tlsVerify    bool
	certPEM      string
	keyPEM       string
	certID       string
	active       *activeConf
	passive      *passiveConf
}

// statusSet is a bitset of HTTP status codes 0..639.
type statusSet [10]uint64

func (s *statusSet) add(code int) {
	if code >= 0 && code < 640 {
		s[code>>6] |= 1 << (code & 63)
	}
}

func (s *statusSet) has(code int) bool {
	return code >= 0 && code < 640 && s[code>>6]&(1<<(code&63)) != 0
}

func statuses(codes ...int) statusSet {
	var s statusSet
	for _, c := range codes {
		s.add(c)
	}
	return s
}

// activeConf is checks.active with defaults applied.
type activeConf struct {
	typ               string // http, https, tcp
	timeout           time.Duration
	concurrency       int
	host              string
	port              int
	method            string
	path              string
	body              string
	headers           []string
	verify            bool
	healthyInterval   time.Duration
	healthyStatuses   statusSet
	successes         int
	unhealthyInterval time.Duration
	unhealthyStatuses statusSet
	httpFailures      int
	tcpFailures       int
	timeouts          int
}

// passiveConf is checks.passive with defaults applied.
type passiveConf struct {
	healthyStatuses   statusSet
	successes         int
	unhealthyStatuses statusSet
	httpFailures      int
	tcpFailures       int
	timeouts          int
}

func (a *activeConf) signature() string  { return fmt.Sprintf("%#v", *a) }
func (p *passiveConf) signature() string { return fmt.Sprintf("%#v", *p) }

// parseConfig decodes an upstream object already validated by the JSON
// schema and applies APISIX's defaults. It re-checks what the schema cannot
// (or what a caller may have skipped), so that bad input is an error, never
// a panic.
func parseConfig(conf map[string]any) (*config, error) {
	if conf == nil {
		return nil, errors.New("upstream: nil configuration")
	}
	if _, ok := conf["service_name"]; ok {
		return nil, ErrDiscoveryUnsupported
	}
	if _, ok := conf["discovery_type"]; ok {
		return nil, ErrDiscoveryUnsupported
	}
	c := &config{
		typ:      TypeRoundRobin,
		scheme:   "http",
		passHost: "pass",
		hashOn:   HashOnVars,
		timeout:  Timeouts{defaultTimeout, defaultTimeout, defaultTimeout},
		keepalive: KeepalivePool{
			Size: defaultKeepaliveSize, IdleTimeout: defaultKeepaliveIdle, Requests: defaultKeepaliveReqs,
		},
	}
	var err error
	if c.typ, err = optString(conf, "type", c.typ); err != nil {
		return nil, err
	}
	switch c.typ {
	case TypeRoundRobin, TypeCHash, TypeLeastConn, TypeEWMA:
	default:
		return nil, fmt.Errorf("upstream: unknown balancer type %q", c.typ)
	}
	if c.scheme, err = optString(conf, "scheme", c.scheme); err != nil {
		return nil, err
	}
	if c.passHost, err = optString(conf, "pass_host", c.passHost); err != nil {
		return nil, err
	}
	if c.upstreamHost, err = optString(conf, "upstream_host", ""); err != nil {
		return nil, err
	}
	switch c.passHost {
	case "pass", "node":
	case "rewrite":
		if c.upstreamHost == "" {
			return nil, errors.New("upstream: `upstream_host` can't be empty when `pass_host` is `rewrite`")
		}
	default:
		return nil, fmt.Errorf("upstream: invalid pass_host %q", c.passHost)
	}
	if c.hashOn, err = optString(conf, "hash_on", c.hashOn); err != nil {
		return nil, err
	}
	if c.key, err = optString(conf, "key", ""); err != nil {
		return nil, err
	}
	if c.typ == TypeCHash {
		switch c.hashOn {
		case HashOnVars, HashOnHeader, HashOnCookie, HashOnVarsCombinations:
			if c.key == "" {
				return nil, errors.New("upstream: missing key")
			}
		case HashOnConsumer:
		default:
			return nil, fmt.Errorf("upstream: type is chash, err: invalid hash_on type %s", c.hashOn)
		}
	}

	nodesRaw, ok := conf["nodes"]
	if !ok {
		return nil, errors.New("upstream: missing nodes")
	}
	if c.nodes, err = parseNodes(nodesRaw, c.scheme); err != nil {
		return nil, err
	}

	c.retries = len(c.nodes) - 1 // APISIX balancer.lua: retries = #up_conf.nodes - 1
	if c.retries < 0 {
		c.retries = 0
	}
	if v, ok := conf["retries"]; ok && v != nil {
		n, err := toInt(v, "retries")
		if err != nil {
			return nil, err
		}
		if n >= 0 {
			c.retries = n
		}
	}
	if v, ok := conf["retry_timeout"]; ok && v != nil {
		if c.retryTimeout, err = toDuration(v, "retry_timeout"); err != nil {
			return nil, err
		}
	}
	if v, ok := conf["timeout"]; ok && v != nil {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, errors.New("upstream: timeout must be an object")
		}
		for _, f := range []struct {
			name string
			dst  *time.Duration
		}{{"connect", &c.timeout.Connect}, {"send", &c.timeout.Send}, {"read", &c.timeout.Read}} {
			if x, ok := m[f.name]; ok && x != nil {
				d, err := toDuration(x, "timeout."+f.name)
				if err != nil {
					return nil, err
				}
				if d > 0 {
					*f.dst = d
				}
			}
		}
	}
	if v, ok := conf["keepalive_pool"]; ok && v != nil {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, errors.New("upstream: keepalive_pool must be an object")
		}
		if x, ok := m["size"]; ok {
			if c.keepalive.Size, err = toInt(x, "keepalive_pool.size"); err != nil {
				return nil, err
			}
		}
		if x, ok := m["idle_timeout"]; ok {
			if c.keepalive.IdleTimeout, err = toDuration(x, "keepalive_pool.idle_timeout"); err != nil {
				return nil, err
			}
		}
		if x, ok := m["requests"]; ok {
			if c.keepalive.Requests, err = toInt(x, "keepalive_pool.requests"); err != nil {
				return nil, err
			}
		}
	}
	if v, ok := conf["tls"]; ok && v != nil {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, errors.New("upstream: tls must be an object")
		}
		if c.tlsVerify, err = optBool(m, "verify", false); err != nil {
			return nil, err
		}
		if c.certPEM, err = optString(m, "client_cert", ""); err != nil {
			return nil, err
		}
		if c.keyPEM, err = optString(m, "client_key", ""); err != nil {
			return nil, err
		}
		if x, ok := m["client_cert_id"]; ok && x != nil {
			c.certID = idString(x)
		}
		if (c.certPEM == "") != (c.keyPEM == "") {
			return nil, errors.New("upstream: tls.client_cert and tls.client_key go together")
		}
		if c.certID != "" && c.certPEM != "" {
			return nil, errors.New("upstream: tls.client_cert_id excludes tls.client_cert and tls.client_key")
		}
	}
	if v, ok := conf["checks"]; ok && v != nil {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, errors.New("upstream: checks must be an object")
		}
		if a, ok := m["active"]; ok && a != nil {
			am, ok := a.(map[string]any)
			if !ok {
				return nil, errors.New("upstream: checks.active must be an object")
			}
			if c.active, err = parseActive(am); err != nil {
				return nil, err
			}
		}
		if p, ok := m["passive"]; ok && p != nil {
			pm, ok := p.(map[string]any)
			if !ok {
				return nil, errors.New("upstream: checks.passive must be an object")
			}
			if c.passive, err = parsePassive(pm); err != nil {
				return nil, err
			}
		}
	}
	return c, nil
}

// schemeToPort is APISIX upstream.lua's scheme_to_port.
func schemeToPort(scheme string) int {
	switch scheme {
	case "http", "grpc":
		return 80
	case "https", "grpcs":
		return 443
	}
	return 0
}

// parseNodes accepts the map form {"host:port": weight} and the array form
// [{host, port, weight, priority, metadata}]. Map nodes are sorted by
// address so that balancing is deterministic across compiles.
func parseNodes(v any, scheme string) ([]*Node, error) {
	var nodes []*Node
	switch nv := v.(type) {
	case map[string]any:
		for addr, w := range nv {
			host, port, err := splitAddr(addr)
			if err != nil {
				return nil, fmt.Errorf("upstream: node %q: %w", addr, err)
			}
			weight, err := toInt(w, "weight of node "+addr)
			if err != nil {
				return nil, err
			}
			nodes = append(nodes, &Node{Host: host, Port: port, Weight: weight})
		}
		sort.Slice(nodes, func(i, j int) bool {
			if nodes[i].Host != nodes[j].Host {
				return nodes[i].Host < nodes[j].Host
			}
			return nodes[i].Port < nodes[j].Port
		})
	case []any:
		for i, item := range nv {
			m, ok := item.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("upstream: nodes[%d] must be an object", i)
			}
			h, ok := m["host"].(string)
			if !ok || h == "" {
				return nil, fmt.Errorf("upstream: nodes[%d]: missing host", i)
			}
			n := &Node{Host: h}
			if strings.HasPrefix(h, "[") {
				if !strings.HasSuffix(h, "]") {
					return nil, fmt.Errorf("upstream: nodes[%d]: bad IPv6 host %q", i, h)
				}
				n.Host = h[1 : len(h)-1]
			}
			var err error
			if x, ok := m["port"]; ok && x != nil {
				if n.Port, err = toInt(x, fmt.Sprintf("nodes[%d].port", i)); err != nil {
					return nil, err
				}
				if n.Port < 1 || n.Port > 65535 {
					return nil, fmt.Errorf("upstream: nodes[%d]: port %d out of range", i, n.Port)
				}
			}
			if x, ok := m["weight"]; ok && x != nil {
				if n.Weight, err = toInt(x, fmt.Sprintf("nodes[%d].weight", i)); err != nil {
					return nil, err
				}
			} else {
				return nil, fmt.Errorf("upstream: nodes[%d]: missing weight", i)
			}
			if x, ok := m["priority"]; ok && x != nil {
				if n.Priority, err = toInt(x, fmt.Sprintf("nodes[%d].priority", i)); err != nil {
					return nil, err
				}
			}
			if md, ok := m["metadata"].(map[string]any); ok {
				n.Metadata = md
			}
			nodes = append(nodes, n)
		}
	case nil:
	default:
		return nil, errors.New("upstream: nodes must be an object or an array")
	}
	std := schemeToPort(scheme)
	for i, n := range nodes {
		if n.Weight < 0 {
			return nil, fmt.Errorf("upstream: node %s: negative weight", n.Host)
		}
		if n.Port == 0 {
			if std == 0 {
				return nil, fmt.Errorf("upstream: node %s: a port is required with scheme %s", n.Host, scheme)
			}
			n.Port = std
		}
		n.Addr = net.JoinHostPort(n.Host, strconv.Itoa(n.Port))
		// APISIX balancer.lua parse_server_for_upstream_host: the node's
		// host, bracketed when IPv6, plus the port unless it is the
		// scheme's standard one.
		h := n.Host
		if strings.Contains(h, ":") {
			h = "[" + h + "]"
		}
		if std == 0 || n.Port != std {
			h += ":" + strconv.Itoa(n.Port)
		}
		n.HostHeader = h
		n.idx = i
	}
	return nodes, nil
}

// splitAddr parses "host", "host:port", "[v6]", "[v6]:port" and a bare
// IPv6 address (core.utils.parse_addr). Port 0 means "not given".
func splitAddr(addr string) (string, int, error) {
	host, port, err := splitAddr0(addr)
	if err == nil && host == "" {
		err = errors.New("empty host")
	}
	return host, port, err
}

func splitAddr0(addr string) (string, int, error) {
	if addr == "" {
		return "", 0, errors.New("empty address")
	}
	if strings.HasPrefix(addr, "[") {
		end := strings.IndexByte(addr, ']')
		if end < 0 {
			return "", 0, errors.New("missing ']' in IPv6 address")
		}
		host := addr[1:end]
		rest := addr[end+1:]
		if rest == "" {
			return host, 0, nil
		}
		if rest[0] != ':' {
			return "", 0, errors.New("junk after ']'")
		}
		p, err := parsePort(rest[1:])
		return host, p, err
	}
	switch strings.Count(addr, ":") {
	case 0:
		return addr, 0, nil
	case 1:
		i := strings.IndexByte(addr, ':')
		p, err := parsePort(addr[i+1:])
		return addr[:i], p, err
	default: // bare IPv6 address, no port
		return addr, 0, nil
	}
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("invalid port %q", s)
	}
	return p, nil
}

func parseActive(m map[string]any) (*activeConf, error) {
	a := &activeConf{
		typ:               "http",
		timeout:           defaultCheckTimeout,
		concurrency:       defaultCheckConcurrency,
		method:            "GET",
		path:              "/",
		verify:            true,
		healthyInterval:   time.Second,
		healthyStatuses:   statuses(200, 302),
		successes:         2,
		unhealthyInterval: time.Second,
		unhealthyStatuses: statuses(429, 404, 500, 501, 502, 503, 504, 505),
		httpFailures:      5,
		tcpFailures:       2,
		timeouts:          3,
	}
	var err error
	if a.typ, err = optString(m, "type", a.typ); err != nil {
		return nil, err
	}
	switch a.typ {
	case "http", "https", "tcp":
	default:
		return nil, fmt.Errorf("upstream: checks.active.type %q is not http, https or tcp", a.typ)
	}
	if x, ok := m["timeout"]; ok && x != nil {
		if a.timeout, err = toDuration(x, "checks.active.timeout"); err != nil {
			return nil, err
		}
		if a.timeout <= 0 {
			a.timeout = defaultCheckTimeout
		}
	}
	if x, ok := m["concurrency"]; ok && x != nil {
		if a.concurrency, err = toInt(x, "checks.active.concurrency"); err != nil {
			return nil, err
		}
		if a.concurrency < 1 {
			a.concurrency = 1
		}
	}
	if a.host, err = optString(m, "host", ""); err != nil {
		return nil, err
	}
	if x, ok := m["port"]; ok && x != nil {
		if a.port, err = toInt(x, "checks.active.port"); err != nil {
			return nil, err
		}
	}
	if a.method, err = optString(m, "http_method", a.method); err != nil {
		return nil, err
	}
	if a.path, err = optString(m, "http_path", a.path); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(a.path, "/") {
		a.path = "/" + a.path
	}
	if a.body, err = optString(m, "http_req_body", ""); err != nil {
		return nil, err
	}
	if a.verify, err = optBool(m, "https_verify_certificate", true); err != nil {
		return nil, err
	}
	if x, ok := m["req_headers"]; ok && x != nil {
		list, ok := x.([]any)
		if !ok {
			return nil, errors.New("upstream: checks.active.req_headers must be an array")
		}
		for _, h := range list {
			s, ok := h.(string)
			if !ok {
				return nil, errors.New("upstream: checks.active.req_headers items must be strings")
			}
			a.headers = append(a.headers, s)
		}
	}
	if x, ok := m["healthy"]; ok && x != nil {
		hm, ok := x.(map[string]any)
		if !ok {
			return nil, errors.New("upstream: checks.active.healthy must be an object")
		}
		if a.healthyInterval, err = optDuration(hm, "interval", a.healthyInterval, "checks.active.healthy.interval"); err != nil {
			return nil, err
		}
		if a.healthyStatuses, err = optStatuses(hm, a.healthyStatuses, "checks.active.healthy.http_statuses"); err != nil {
			return nil, err
		}
		if a.successes, err = optInt(hm, "successes", a.successes, "checks.active.healthy.successes"); err != nil {
			return nil, err
		}
	}
	if x, ok := m["unhealthy"]; ok && x != nil {
		um, ok := x.(map[string]any)
		if !ok {
			return nil, errors.New("upstream: checks.active.unhealthy must be an object")
		}
		if a.unhealthyInterval, err = optDuration(um, "interval", a.unhealthyInterval, "checks.active.unhealthy.interval"); err != nil {
			return nil, err
		}
		if a.unhealthyStatuses, err = optStatuses(um, a.unhealthyStatuses, "checks.active.unhealthy.http_statuses"); err != nil {
			return nil, err
		}
		if a.httpFailures, err = optInt(um, "http_failures", a.httpFailures, "checks.active.unhealthy.http_failures"); err != nil {
			return nil, err
		}
		if a.tcpFailures, err = optInt(um, "tcp_failures", a.tcpFailures, "checks.active.unhealthy.tcp_failures"); err != nil {
			return nil, err
		}
		if a.timeouts, err = optInt(um, "timeouts", a.timeouts, "checks.active.unhealthy.timeouts"); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func parsePassive(m map[string]any) (*passiveConf, error) {
	p := &passiveConf{
		healthyStatuses: statuses(200, 201, 202, 203, 204, 205, 206, 207, 208, 226,
			300, 301, 302, 303, 304, 305, 306, 307, 308),
		successes:         5,
		unhealthyStatuses: statuses(429, 500, 503),
		httpFailures:      5,
		tcpFailures:       2,
		timeouts:          7,
	}
	var err error
	if x, ok := m["healthy"]; ok && x != nil {
		hm, ok := x.(map[string]any)
		if !ok {
			return nil, errors.New("upstream: checks.passive.healthy must be an object")
		}
		if p.healthyStatuses, err = optStatuses(hm, p.healthyStatuses, "checks.passive.healthy.http_statuses"); err != nil {
			return nil, err
		}
		if p.successes, err = optInt(hm, "successes", p.successes, "checks.passive.healthy.successes"); err != nil {
			return nil, err
		}
	}
	if x, ok := m["unhealthy"]; ok && x != nil {
		um, ok := x.(map[string]any)
		if !ok {
			return nil, errors.New("upstream: checks.passive.unhealthy must be an object")
		}
		if p.unhealthyStatuses, err = optStatuses(um, p.unhealthyStatuses, "checks.passive.unhealthy.http_statuses"); err != nil {
			return nil, err
		}
		if p.httpFailures, err = optInt(um, "http_failures", p.httpFailures, "checks.passive.unhealthy.http_failures"); err != nil {
			return nil, err
		}
		if p.tcpFailures, err = optInt(um, "tcp_failures", p.tcpFailures, "checks.passive.unhealthy.tcp_failures"); err != nil {
			return nil, err
		}
		if p.timeouts, err = optInt(um, "timeouts", p.timeouts, "checks.passive.unhealthy.timeouts"); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// ---- JSON value helpers: numbers may be json.Number, float64 or Go ints.

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint64:
		return float64(x), true
	case uint32:
		return float64(x), true
	}
	return 0, false
}

func toInt(v any, what string) (int, error) {
	f, ok := toFloat(v)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, fmt.Errorf("upstream: %s must be an integer", what)
	}
	return int(f), nil
}

// toDuration reads a number of seconds (fractions allowed).
func toDuration(v any, what string) (time.Duration, error) {
	f, ok := toFloat(v)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e9 {
		return 0, fmt.Errorf("upstream: %s must be a non-negative number of seconds", what)
	}
	return time.Duration(f * float64(time.Second)), nil
}

func optString(m map[string]any, k, def string) (string, error) {
	v, ok := m[k]
	if !ok || v == nil {
		return def, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("upstream: %s must be a string", k)
	}
	return s, nil
}

func optBool(m map[string]any, k string, def bool) (bool, error) {
	v, ok := m[k]
	if !ok || v == nil {
		return def, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("upstream: %s must be a boolean", k)
	}
	return b, nil
}

func optInt(m map[string]any, k string, def int, what string) (int, error) {
	v, ok := m[k]
	if !ok || v == nil {
		return def, nil
	}
	n, err := toInt(v, what)
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, fmt.Errorf("upstream: %s must not be negative", what)
	}
	return n, nil
}

func optDuration(m map[string]any, k string, def time.Duration, what string) (time.Duration, error) {
	v, ok := m[k]
	if !ok || v == nil {
		return def, nil
	}
	return toDuration(v, what)
}

func optStatuses(m map[string]any, def statusSet, what string) (statusSet, error) {
	v, ok := m["http_statuses"]
	if !ok || v == nil {
		return def, nil
	}
	list, ok := v.([]any)
	if !ok {
		return def, fmt.Errorf("upstream: %s must be an array", what)
	}
	var s statusSet
	for _, x := range list {
		n, err := toInt(x, what)
		if err != nil {
			return def, err
		}
		if n < 100 || n > 599 {
			return def, fmt.Errorf("upstream: %s: status %d out of range", what, n)
		}
		s.add(n)
	}
	return s, nil
}

func idString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if f, ok := toFloat(v); ok {
		return strconv.FormatInt(int64(f), 10)
	}
	return fmt.Sprint(v)
}
