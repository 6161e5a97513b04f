package prometheus

import (
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/cpu"

	"github.com/stargate-edge/stargate/internal/plugin"
)

// Buckets are APISIX's default latency buckets, in milliseconds (1 ms to
// 60 s; apisix/plugins/prometheus/exporter.lua DEFAULT_BUCKETS).
var Buckets = latBounds[:]

var latBounds = [...]float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000}

// The traffic metrics keep APISIX's names, help texts, types and label
// names so that APISIX's published Grafana dashboards work unchanged.
// traffic is their collector; Collectors hands it to the process registry.
var (
	statusDesc = prom.NewDesc("apisix_http_status", "HTTP status codes per service in APISIX",
		[]string{"code", "route", "matched_uri", "matched_host", "service", "consumer", "node"}, nil)
	latencyDesc = prom.NewDesc("apisix_http_latency", "HTTP request latency in milliseconds per service in APISIX",
		[]string{"type", "route", "service", "consumer", "node"}, nil)
	bandwidthDesc = prom.NewDesc("apisix_bandwidth", "Total bandwidth in bytes consumed per service in APISIX",
		[]string{"type", "route", "service", "consumer", "node"}, nil)
	requestsDesc = prom.NewDesc("apisix_http_requests_total", "The total number of client requests since APISIX started", nil, nil)

	traffic trafficCollector
)

// Collectors returns the plugin's collectors, created once per process, for
// the process registry (the admin listener serves them at /metrics). The
// traffic series appear as soon as the plugin sees requests;
// apisix_nginx_http_current_connections only once SetConnCensus is called,
// and apisix_etcd_reachable only once SetEtcdProbe is.
func Collectors() []prom.Collector {
	return []prom.Collector{&traffic, nodeInfo, etcd, conns}
}

// exporter is the plugin compiled: it records each request in the log
// phase. Every instance shares the package-level metrics.
type exporter struct {
	preferName bool
}

var _ plugin.LogPhaser = (*exporter)(nil)

func newExporter(conf map[string]any) (any, error) {
	e := &exporter{}
	e.preferName, _ = conf["prefer_name"].(bool)
	return e, nil
}

// How the traffic metrics are kept. A request used to update about ten
// atomic counters of the label set's series (status, three histograms,
// two byte counters) and a read lock: lines that every event loop's CPU
// wrote, so each request waited for them to come over from the other
// CPU. BenchmarkLog on two CPUs: 0.23 µs per request alone, 1.4 µs of
// CPU with both CPUs logging. Now a request adds to a tally in its
// loop's shard (plugin.Ctx.Worker) under the shard's mutex, which only
// that loop takes between scrapes, and a scrape first moves every
// shard's tallies into the series totals, then exports those.
//
// series is the totals of one label set of apisix_http_status; lat is
// its latency and bandwidth totals, whose label set leaves out the code
// and the matched uri and host, so several series share one.
type series struct {
	lat    *latTotals
	status uint64 // under trafficCollector.mu
}

// latTotals are apisix_http_latency (request, apisix and, with a node,
// upstream) and apisix_bandwidth for one label set, or what one shard saw
// of them since the last scrape.
type latTotals struct {
	hist                    [3]hist // request, apisix, upstream
	bandwidthIn, bandwidthE float64
}

func (l *latTotals) add(o *latTotals) {
	for j := range l.hist {
		l.hist[j].add(&o.hist[j])
	}
	l.bandwidthIn += o.bandwidthIn
	l.bandwidthE += o.bandwidthE
}

// seriesKey is one label set of apisix_http_status.
type seriesKey struct {
	code                           int
	route, service, consumer, node string
	matchedURI, matchedHost        string
}

// latKey is one label set of apisix_http_latency and apisix_bandwidth,
// without the type.
type latKey struct{ route, service, consumer, node string }

const (
	latRequest = iota
	latAPISIX
	latUpstream
)

var latTypes = [3]string{"request", "apisix", "upstream"}

// hist is one histogram's observations: per bucket (the last is +Inf,
// not cumulative), their count and sum.
type hist struct {
	buckets [len(latBounds) + 1]uint64
	count   uint64
	sum     float64
}

func (h *hist) observe(v float64) {
	// The first bucket whose bound is at least v, as client_golang's
	// histogram finds it.
	i := 0
	for i < len(latBounds) && v > latBounds[i] {
		i++
	}
	h.buckets[i]++
	h.count++
	h.sum += v
}

func (h *hist) add(o *hist) {
	for i := range h.buckets {
		h.buckets[i] += o.buckets[i]
	}
	h.count += o.count
	h.sum += o.sum
}

// tally is what one shard saw of one series since the last scrape.
type tally struct {
	status uint64
	latTotals
}

// shard is one event loop's tallies (requests served elsewhere pick a
// shard at random). The padding keeps neighbouring shards' mutexes off
// each other's cache lines.
type shard struct {
	mu       sync.Mutex
	requests int64
	tallies  map[*series]*tally
	// last is the tally of the label set this shard recorded last
	// (lastKey), until a scrape moves the tallies: most requests on a loop
	// repeat the one before (one route, one node), and comparing the
	// labels costs less than hashing them into the index, about 900 of
	// the plugin route's 29,500 instructions per request (callgrind).
	lastKey seriesKey
	last    *tally
	_       cpu.CacheLinePad
}

// numShards bounds the shards: loops beyond it share them (correct, only
// slower).
const numShards = 64

type trafficCollector struct {
	shards [numShards]shard

	// index finds a label set's series without a lock or a write.
	index sync.Map // seriesKey -> *series

	mu       sync.Mutex // the totals, and new series
	lats     map[latKey]*latTotals
	requests int64
}

// lookup finds or makes the series of k.
func (t *trafficCollector) lookup(k seriesKey) *series {
	if s, ok := t.index.Load(k); ok {
		return s.(*series)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.index.Load(k); ok {
		return s.(*series)
	}
	lk := latKey{k.route, k.service, k.consumer, k.node}
	if t.lats == nil {
		t.lats = map[latKey]*latTotals{}
	}
	lt := t.lats[lk]
	if lt == nil {
		lt = &latTotals{}
		t.lats[lk] = lt
	}
	s := &series{lat: lt}
	t.index.Store(k, s)
	return s
}

// shard is the shard of the loop numbered worker (-1: none).
func (t *trafficCollector) shard(worker int) *shard {
	if worker < 0 {
		worker = rand.IntN(numShards)
	}
	return &t.shards[worker%numShards]
}

// flushLocked moves every shard's tallies into the totals; t.mu is held.
func (t *trafficCollector) flushLocked() {
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		t.requests += sh.requests
		sh.requests = 0
		for s, d := range sh.tallies {
			s.status += d.status
			s.lat.add(&d.latTotals)
		}
		clear(sh.tallies)
		sh.last = nil
		sh.mu.Unlock()
	}
}

func (t *trafficCollector) Describe(ch chan<- *prom.Desc) {
	ch <- statusDesc
	ch <- latencyDesc
	ch <- bandwidthDesc
	ch <- requestsDesc
}

func (t *trafficCollector) Collect(ch chan<- prom.Metric) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.flushLocked()
	// apisix_http_requests_total counts the requests the plugin observed
	// (APISIX reads nginx's request counter, so it is a gauge there too).
	ch <- prom.MustNewConstMetric(requestsDesc, prom.GaugeValue, float64(t.requests))
	t.index.Range(func(key, val any) bool {
		k, s := key.(seriesKey), val.(*series)
		ch <- prom.MustNewConstMetric(statusDesc, prom.CounterValue, float64(s.status),
			codeString(k.code), k.route, k.matchedURI, k.matchedHost, k.service, k.consumer, k.node)
		return true
	})
	for k, ls := range t.lats {
		for j := range ls.hist {
			if j == latUpstream && k.node == "" {
				continue // no upstream answered: no upstream latency
			}
			h := &ls.hist[j]
			cum := make(map[float64]uint64, len(latBounds))
			var n uint64
			for b, bound := range latBounds {
				n += h.buckets[b]
				cum[bound] = n
			}
			ch <- prom.MustNewConstHistogram(latencyDesc, h.count, h.sum, cum, latTypes[j], k.route, k.service, k.consumer, k.node)
		}
		ch <- prom.MustNewConstMetric(bandwidthDesc, prom.CounterValue, ls.bandwidthIn, "ingress", k.route, k.service, k.consumer, k.node)
		ch <- prom.MustNewConstMetric(bandwidthDesc, prom.CounterValue, ls.bandwidthE, "egress", k.route, k.service, k.consumer, k.node)
	}
}

// codes holds "0".."999" so that the status label costs no allocation.
var codes = func() []string {
	out := make([]string, 1000)
	for i := range out {
		out[i] = strconv.Itoa(i)
	}
	return out
}()

func codeString(c int) string {
	if c >= 0 && c < len(codes) {
		return codes[c]
	}
	return strconv.Itoa(c)
}

// Log records the request as APISIX's http_log does.
func (e *exporter) Log(c *plugin.Ctx) {
	k := seriesKey{code: c.Status, route: c.RouteID, service: c.ServiceID, matchedURI: c.MatchedURI, matchedHost: c.MatchedHost}
	if e.preferName && c.RouteID != "" && c.Vars != nil {
		// APISIX's ctx vars route_name/service_name; the id when unnamed.
		if n, ok := c.Vars.Var("route_name"); ok && n != "" {
			k.route = n
		}
		if k.service != "" {
			if n, ok := c.Vars.Var("service_name"); ok && n != "" {
				k.service = n
			}
		}
	}
	if c.Consumer != nil {
		k.consumer = c.Consumer.Username
	}
	if c.UpstreamAddr != "" {
		// APISIX's balancer_ip: the node's address without the port.
		if h, _, err := net.SplitHostPort(c.UpstreamAddr); err == nil {
			k.node = h
		} else {
			k.node = c.UpstreamAddr
		}
	}
	ms := float64(c.Latency) / float64(time.Millisecond)
	// APISIX splits the request latency into the upstream's response
	// time and its own (the rest); without an upstream it is all its own.
	up := float64(c.UpstreamLatency) / float64(time.Millisecond)
	var in float64
	switch {
	case c.RequestHeadLength > 0 && c.Req != nil:
		// The head as received, from the listener: rebuilding it walked
		// the header map, about 480 instructions per request.
		in = float64(c.RequestHeadLength + max(c.Req.ContentLength, 0))
	case c.Req != nil:
		in = float64(requestLength(c.Req))
	}

	sh := traffic.shard(c.Worker)
	sh.mu.Lock()
	d := sh.last
	if d == nil || sh.lastKey != k {
		sh.mu.Unlock()
		s := traffic.lookup(k) // takes traffic.mu on a new label set
		sh.mu.Lock()
		if d = sh.tallies[s]; d == nil {
			if sh.tallies == nil {
				sh.tallies = map[*series]*tally{}
			}
			d = &tally{}
			sh.tallies[s] = d
		}
		sh.lastKey, sh.last = k, d
	}
	sh.requests++
	d.status++
	d.hist[latRequest].observe(ms)
	if k.node != "" {
		d.hist[latUpstream].observe(up)
		d.hist[latAPISIX].observe(max(ms-up, 0))
	} else {
		d.hist[latAPISIX].observe(ms)
	}
	d.bandwidthIn += in
	d.bandwidthE += float64(c.BytesSent)
	sh.mu.Unlock()
}

// requestLength rebuilds nginx's $request_length for an HTTP/1.x request:
// request line, header lines (Go keeps Host apart) and the declared body.
// It is exact for a client that writes "Name: value" headers; for HTTP/2
// it counts the HTTP/1.1 equivalent.
func requestLength(r *http.Request) int64 {
	n := int64(len(r.Method) + 1 + len(r.RequestURI) + 1 + len(r.Proto) + 2)
	if r.Host != "" {
		n += int64(len("Host: ") + len(r.Host) + 2)
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			n += int64(len(k) + 2 + len(v) + 2)
		}
	}
	for _, te := range r.TransferEncoding {
		n += int64(len("Transfer-Encoding: ") + len(te) + 2)
	}
	n += 2
	if r.ContentLength > 0 {
		n += r.ContentLength
	}
	return n
}

// node_info: hostname and version of this node.
var (
	version  atomic.Pointer[string]
	hostname = func() string { h, _ := os.Hostname(); return h }()
	nodeDesc = prom.NewDesc("apisix_node_info", "Info of APISIX node", []string{"hostname", "version"}, nil)
	nodeInfo = collectorFunc{desc: nodeDesc, collect: func(ch chan<- prom.Metric) {
		v := ""
		if p := version.Load(); p != nil {
			v = *p
		}
		ch <- prom.MustNewConstMetric(nodeDesc, prom.GaugeValue, 1, hostname, v)
	}}
)

// SetVersion sets the version label of apisix_node_info (Stargate's
// version; empty until set).
func SetVersion(v string) { version.Store(&v) }

// collectorFunc is a collector with fixed descriptors that builds its
// metrics at scrape time.
type collectorFunc struct {
	desc    *prom.Desc
	collect func(ch chan<- prom.Metric)
}

func (c collectorFunc) Describe(ch chan<- *prom.Desc) { ch <- c.desc }
func (c collectorFunc) Collect(ch chan<- prom.Metric) { c.collect(ch) }
