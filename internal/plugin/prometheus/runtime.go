package prometheus

import (
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"

	"github.com/stargate-edge/stargate/internal/plugin"
)

// Buckets are APISIX's default latency buckets, in milliseconds (1 ms to
// 60 s; apisix/plugins/prometheus/exporter.lua DEFAULT_BUCKETS).
var Buckets = []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000}

// The traffic metrics keep APISIX's names, help texts, types and label
// names so that APISIX's published Grafana dashboards work unchanged. They
// are created once per process; Collectors hands them to the process
// registry.
var (
	httpStatus = prom.NewCounterVec(prom.CounterOpts{
		Name: "apisix_http_status",
		Help: "HTTP status codes per service in APISIX",
	}, []string{"code", "route", "matched_uri", "matched_host", "service", "consumer", "node"})

	httpLatency = prom.NewHistogramVec(prom.HistogramOpts{
		Name:    "apisix_http_latency",
		Help:    "HTTP request latency in milliseconds per service in APISIX",
		Buckets: Buckets,
	}, []string{"type", "route", "service", "consumer", "node"})

	bandwidth = prom.NewCounterVec(prom.CounterOpts{
		Name: "apisix_bandwidth",
		Help: "Total bandwidth in bytes consumed per service in APISIX",
	}, []string{"type", "route", "service", "consumer", "node"})

	// requests counts the requests the plugin observed (APISIX reads
	// nginx's request counter, so it is a gauge there too).
	requests     atomic.Int64
	requestsFunc = prom.NewGaugeFunc(prom.GaugeOpts{
		Name: "apisix_http_requests_total",
		Help: "The total number of client requests since APISIX started",
	}, func() float64 { return float64(requests.Load()) })
)

// Collectors returns the plugin's collectors, created once per process, for
// the process registry (the admin listener serves them at /metrics). The
// traffic series appear as soon as the plugin sees requests;
// apisix_nginx_http_current_connections only once SetConnCensus is called,
// and apisix_etcd_reachable only once SetEtcdProbe is.
func Collectors() []prom.Collector {
	return []prom.Collector{httpStatus, httpLatency, bandwidth, requestsFunc, nodeInfo, etcd, conns}
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

// series are the children of the metric vectors for one label set, so that
// a request costs one map lookup instead of one hash per metric.
type series struct {
	status                       prom.Counter
	latRequest, latAPISIX        prom.Observer
	latUpstream                  prom.Observer
	bandwidthIn, bandwidthEgress prom.Counter
}

// seriesKey is one label set.
type seriesKey struct {
	code                           int
	route, service, consumer, node string
	matchedURI, matchedHost        string
}

var (
	cacheMu sync.RWMutex
	cache   = map[seriesKey]*series{}
)

func lookup(k seriesKey) *series {
	cacheMu.RLock()
	s := cache[k]
	cacheMu.RUnlock()
	if s != nil {
		return s
	}
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if s = cache[k]; s != nil {
		return s
	}
	s = &series{
		status:          httpStatus.WithLabelValues(codeString(k.code), k.route, k.matchedURI, k.matchedHost, k.service, k.consumer, k.node),
		latRequest:      httpLatency.WithLabelValues("request", k.route, k.service, k.consumer, k.node),
		bandwidthIn:     bandwidth.WithLabelValues("ingress", k.route, k.service, k.consumer, k.node),
		bandwidthEgress: bandwidth.WithLabelValues("egress", k.route, k.service, k.consumer, k.node),
	}
	s.latAPISIX = httpLatency.WithLabelValues("apisix", k.route, k.service, k.consumer, k.node)
	if k.node != "" {
		s.latUpstream = httpLatency.WithLabelValues("upstream", k.route, k.service, k.consumer, k.node)
	}
	cache[k] = s
	return s
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
	requests.Add(1)
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
	s := lookup(k)
	s.status.Inc()
	ms := float64(c.Latency) / float64(time.Millisecond)
	s.latRequest.Observe(ms)
	// APISIX splits the request latency into the upstream's response
	// time and its own (the rest); without an upstream it is all its own.
	up := float64(c.UpstreamLatency) / float64(time.Millisecond)
	if s.latUpstream != nil {
		s.latUpstream.Observe(up)
		s.latAPISIX.Observe(max(ms-up, 0))
	} else {
		s.latAPISIX.Observe(ms)
	}
	if c.Req != nil {
		s.bandwidthIn.Add(float64(requestLength(c.Req)))
	}
	s.bandwidthEgress.Add(float64(c.BytesSent))
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
