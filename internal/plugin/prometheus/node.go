package prometheus

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
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
// rebuilt from net/http connection states once ConnState is installed on
// the proxy's servers.
var (
	connDesc = prom.NewDesc("apisix_nginx_http_current_connections", "Number of HTTP connections", []string{"state"}, nil)
	tracker  connTracker
	conns    = collectorFunc{desc: connDesc, collect: tracker.collect}
)

type connTracker struct {
	used     atomic.Bool
	accepted atomic.Int64
	// open counts connections by their current state (StateNew,
	// StateActive, StateIdle).
	open [3]atomic.Int64
}

// ConnStateChange is the proxy listeners' state-change hook
// (server.Server.StateChange): with it the plugin exports
// apisix_nginx_http_current_connections with nginx's states — accepted
// and handled (connections accepted since start), active (open now),
// reading (accepted, no request yet), writing (serving a request) and
// waiting (idle keep-alive). The listener names the state a connection
// leaves, so this is two atomic adds per change and no lookup.
func ConnStateChange(from, to http.ConnState) { tracker.change(from, to) }

func (t *connTracker) change(from, to http.ConnState) {
	if to == http.StateNew {
		if !t.used.Load() {
			t.used.Store(true)
		}
		t.accepted.Add(1)
		t.open[http.StateNew].Add(1)
		return
	}
	if from <= http.StateIdle {
		t.open[from].Add(-1)
	}
	if to <= http.StateIdle {
		t.open[to].Add(1)
	}
}

func (t *connTracker) collect(ch chan<- prom.Metric) {
	if !t.used.Load() {
		return
	}
	reading, writing, waiting := t.open[http.StateNew].Load(), t.open[http.StateActive].Load(), t.open[http.StateIdle].Load()
	accepted := t.accepted.Load()
	for _, m := range []struct {
		state string
		v     int64
	}{
		{"accepted", accepted}, {"active", reading + writing + waiting}, {"handled", accepted},
		{"reading", reading}, {"waiting", waiting}, {"writing", writing},
	} {
		ch <- prom.MustNewConstMetric(connDesc, prom.GaugeValue, float64(m.v), m.state)
	}
}
