package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stargate-edge/stargate/internal/config"
	"github.com/stargate-edge/stargate/internal/metrics"
	"github.com/stargate-edge/stargate/internal/plugin/httplogger"
	promplugin "github.com/stargate-edge/stargate/internal/plugin/prometheus"
	"github.com/stargate-edge/stargate/internal/proxy"
	"github.com/stargate-edge/stargate/internal/proxy/router"
	"github.com/stargate-edge/stargate/internal/proxy/upstream"
	"github.com/stargate-edge/stargate/internal/snapshot"
	"github.com/stargate-edge/stargate/internal/store"
	"github.com/stargate-edge/stargate/internal/tlscert"
)

// edge is the running data plane.
type edge struct {
	loader  *snapshot.Loader
	ups     *upstream.Manager
	servers *proxy.Servers
	cache   *edgeCache
}

// startEdge compiles the first snapshot, follows the store and binds the
// proxy listeners.
func startEdge(ctx context.Context, cfg config.Config, st store.Store, ring *tlscert.Keyring, log *slog.Logger, reg *metrics.Registry) (*edge, error) {
	var def *tls.Certificate
	if cfg.DefaultCertFile != "" {
		c, err := tls.LoadX509KeyPair(cfg.DefaultCertFile, cfg.DefaultKeyFile)
		if err != nil {
			return nil, fmt.Errorf("default certificate: %w", err)
		}
		def = &c
	}
	rev := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "stargate", Subsystem: "snapshot", Name: "revision",
		Help: "The store revision of the configuration this edge serves."})
	errs := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "stargate", Subsystem: "snapshot", Name: "errors",
		Help: "Objects left out of the served configuration because they failed to compile."})
	dur := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "stargate", Subsystem: "snapshot", Name: "compile_seconds",
		Help: "Time to compile and swap a configuration change.", Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10)})
	routes := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "stargate", Subsystem: "snapshot", Name: "routes",
		Help: "Routes in the served configuration."})
	reg.MustRegister(rev, errs, dur, routes)
	// The observability plugins keep process-wide collectors (APISIX's
	// metric names) that every route's instance feeds.
	reg.MustRegister(promplugin.Collectors()...)
	reg.MustRegister(httplogger.Collectors()...)
	promplugin.SetVersion(version)
	httplogger.SetVersion(version)
	if cfg.Store == "etcd" {
		promplugin.SetEtcdProbe(func(ctx context.Context) error { _, err := st.Revision(ctx); return err })
	}

	zones, err := openZones(cfg, log)
	if err != nil {
		return nil, err
	}
	zones.register(reg)
	ups := upstream.NewManager(log)
	loader := snapshot.New(snapshot.Options{
		Store: st, Upstreams: ups, Keyring: ring, Logger: log, DefaultCert: def,
		OnSwap: func(s *snapshot.Snapshot, d time.Duration) {
			rev.Set(float64(s.Revision))
			errs.Set(float64(s.Errors))
			routes.Set(float64(s.Router.Len()))
			dur.Observe(d.Seconds())
		},
	})
	if err := loader.Start(ctx); err != nil {
		ups.Close()
		zones.close()
		return nil, err
	}
	servers, err := proxy.Start(proxy.Options{HTTPAddr: cfg.HTTPListen, HTTPSAddr: cfg.HTTPSListen, Snapshots: loader, Logger: log,
		EventLoops: cfg.EventLoops})
	if err != nil {
		ups.Close()
		zones.close()
		return nil, err
	}
	promplugin.SetConnCensus(servers.Conns)
	zones.startJobs(ctx, cfg, st, servers)
	return &edge{loader: loader, ups: ups, servers: servers, cache: zones}, nil
}

func (e *edge) shutdown(ctx context.Context) {
	_ = e.servers.Shutdown(ctx)
	_ = httplogger.Flush(ctx) // what the loggers still hold
	e.ups.Close()
	e.cache.close()
}

// matcher answers the admin API's /debug/match from a snapshot.
type matcher struct{ loader *snapshot.Loader }

func (m matcher) Match(method, host, uri, remote string) (any, bool) {
	snap := m.loader.Current()
	u, err := url.Parse(uri)
	if err != nil {
		return nil, false
	}
	addr, _ := netip.ParseAddr(remote)
	q := &proxy.MatchVars{Query: u.Query(), Host: strings.ToLower(host), Path: u.Path, Method: method, Remote: remote}
	rt, match, ok := proxy.Route(snap, method, strings.ToLower(host), u.Path, addr, router.Request{Vars: q})
	if !ok {
		// Say which configured routes are left out and why: a route that
		// does not compile is the usual reason for a surprising 404.
		if len(snap.Problems) > 0 {
			left := map[string]string{}
			for k, v := range snap.Problems {
				if strings.HasPrefix(k, "routes/") {
					left[k] = v
				}
			}
			if len(left) > 0 {
				return map[string]any{"error_msg": "404 Route Not Found", "left_out": left}, false
			}
		}
		return nil, false
	}
	out := map[string]any{
		"route_id": rt.ID, "name": rt.Name, "service_id": rt.ServiceID, "upstream_id": rt.UpstreamID,
		"plugins": rt.Plugins.Names, "config": rt.Config(), "revision": snap.Revision,
	}
	if match.Params != nil {
		out["params"] = match.Params
	}
	// The upstream the request would go to: the route's (or service's)
	// inline one, or the upstream object it names.
	if up := rt.UpstreamIn(snap); up != nil {
		var nodes []map[string]any
		for _, n := range up.Status() {
			nodes = append(nodes, map[string]any{"addr": n.Addr, "healthy": n.Healthy, "active": n.Active})
		}
		out["upstream"] = map[string]any{"type": up.Type, "scheme": up.Scheme, "pass_host": up.PassHost, "nodes": nodes}
	}
	return out, true
}
