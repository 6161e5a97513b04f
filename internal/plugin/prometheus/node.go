package prometheus

import (
	"context"
	"sync/atomic"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"

	"github.com/stargate-edge/stargate/internal/http1/server"
)

// apisix_etcd_reachable: exported only when the process follows etcd and
// wires a probe in (APISIX too sets it only for an etcd config center).
var (
	etcdProbe atomic.Pointer[func(context.Context) error]
	etcdDesc  = prom.NewDesc("apisix_etcd_reachable", "Config server etcd reachable from APISIX, 0 is unreachable", nil, nil)
	etcd      = collectorFunc{desc: etcdDesc, collect: func(ch chan<- prom.Metric) {
		p := etcdProbe.Load()
		if p == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		v := 1.0
		if err := (*p)(ctx); err != nil {
			v = 0
		}
		ch <- prom.MustNewConstMetric(etcdDesc, prom.GaugeValue, v)
	}}
)

// SetEtcdProbe makes the scrape report apisix_etcd_reachable: 1 when probe
// returns nil within 2 seconds, else 0. nil removes the metric.
func SetEtcdProbe(probe func(ctx context.Context) error) {
	if probe == nil {
		etcdProbe.Store(nil)
		return
	}
	etcdProbe.Store(&probe)
}

// apisix_nginx_http_current_connections{state}: nginx's stub_status,
// counted from the proxy listeners' connections when /metrics is scraped
// (SetConnCensus), so that it costs the request path nothing.
var (
	connDesc = prom.NewDesc("apisix_nginx_http_current_connections", "Number of HTTP connections", []string{"state"}, nil)
	census   atomic.Pointer[func() server.ConnCounts]
	conns    = collectorFunc{desc: connDesc, collect: func(ch chan<- prom.Metric) {
		if f := census.Load(); f != nil {
			collectConns(ch, (*f)())
		}
	}}
)

// SetConnCensus makes the scrape export apisix_nginx_http_current_connections
// from count (the proxy's proxy.Servers.Conns) with nginx's states:
// accepted and handled (connections accepted since start), active (open
// now), reading (accepted, no request yet), writing (serving a request)
// and waiting (idle keep-alive). nil removes the metric.
func SetConnCensus(count func() server.ConnCounts) {
	if count == nil {
		census.Store(nil)
		return
	}
	census.Store(&count)
}

func collectConns(ch chan<- prom.Metric, n server.ConnCounts) {
	for _, m := range []struct {
		state string
		v     int64
	}{
		{"accepted", n.Accepted}, {"active", n.Reading + n.Writing + n.Waiting}, {"handled", n.Accepted},
		{"reading", n.Reading}, {"waiting", n.Waiting}, {"writing", n.Writing},
	} {
		ch <- prom.MustNewConstMetric(connDesc, prom.GaugeValue, float64(m.v), m.state)
	}
}
