package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stargate-edge/stargate/internal/cache"
	"github.com/stargate-edge/stargate/internal/config"
	"github.com/stargate-edge/stargate/internal/jobs"
	"github.com/stargate-edge/stargate/internal/metrics"
	"github.com/stargate-edge/stargate/internal/proxy"
	"github.com/stargate-edge/stargate/internal/store"
)

// edgeCache is the edge's cache: its zones, published in package cache's
// registry for the proxy-cache plugin and the admin API, and the job
// worker that runs purges and warms against them.
type edgeCache struct {
	zones  []*cache.Zone
	stop   context.CancelFunc
	worker chan struct{} // closed when the worker has stopped
	log    *slog.Logger
}

// openZones opens the configured zones (a disk zone defaults to
// <data-dir>/cache/<name>) and publishes them. It must run before the
// first snapshot compiles: routes find their zone then.
func openZones(cfg config.Config, log *slog.Logger) (*edgeCache, error) {
	c := &edgeCache{log: log}
	for _, zc := range cfg.CacheZones {
		dir := zc.Dir
		if dir == "" && zc.Kind == cache.KindDisk {
			dir = filepath.Join(cfg.DataDir, "cache", zc.Name)
		}
		z, err := cache.Open(cache.Config{Name: zc.Name, Kind: zc.Kind, Size: zc.Size, Dir: dir, Logger: log})
		if err != nil {
			c.close()
			return nil, fmt.Errorf("cache zone %s: %w", zc.Name, err)
		}
		c.zones = append(c.zones, z)
	}
	cache.SetZones(c.zones...)
	return c, nil
}

// startJobs runs this edge's job worker until ctx ends; warms go through
// the edge's own proxy listeners.
func (c *edgeCache) startJobs(ctx context.Context, cfg config.Config, st store.Store, servers *proxy.Servers) {
	w := jobs.New(jobs.Options{Store: st, Node: cfg.NodeID, Logger: c.log,
		Warm: jobs.LocalWarmer(servers.HTTPAddr(), servers.HTTPSAddr())})
	ctx, c.stop = context.WithCancel(ctx)
	c.worker = make(chan struct{})
	go func() {
		defer close(c.worker)
		w.Run(ctx)
	}()
	c.log.Info("job worker started", "node", w.Node())
}

// close stops the worker (a job it was running resumes at the next
// start) and persists the zones.
func (c *edgeCache) close() {
	if c.worker != nil {
		c.stop()
		<-c.worker
	}
	for _, z := range c.zones {
		if err := z.Close(); err != nil {
			c.log.Error("closing cache zone", "zone", z.Name(), "err", err)
		}
	}
}

// register exports the zones' size, usage, entries and answers by cache
// status.
func (c *edgeCache) register(reg *metrics.Registry) {
	reg.MustRegister(zoneCollector{c.zones})
}

var (
	descSize = prometheus.NewDesc("stargate_cache_size_bytes", "The cache zone's size cap.", []string{"zone", "kind"}, nil)
	descUsed = prometheus.NewDesc("stargate_cache_used_bytes", "Bytes the cache zone holds.", []string{"zone", "kind"}, nil)
	descEnt  = prometheus.NewDesc("stargate_cache_entries", "Entries in the cache zone.", []string{"zone", "kind"}, nil)
	descAns  = prometheus.NewDesc("stargate_cache_responses_total", "Answers of proxy-cache routes by zone and Apisix-Cache-Status.", []string{"zone", "status"}, nil)
)

type zoneCollector struct{ zones []*cache.Zone }

func (zoneCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descSize
	ch <- descUsed
	ch <- descEnt
	ch <- descAns
}

func (c zoneCollector) Collect(ch chan<- prometheus.Metric) {
	for _, z := range c.zones {
		st := z.Stats()
		ch <- prometheus.MustNewConstMetric(descSize, prometheus.GaugeValue, float64(st.Size), st.Name, st.Kind)
		ch <- prometheus.MustNewConstMetric(descUsed, prometheus.GaugeValue, float64(st.Used), st.Name, st.Kind)
		ch <- prometheus.MustNewConstMetric(descEnt, prometheus.GaugeValue, float64(st.Entries), st.Name, st.Kind)
		for i, n := range z.Counts() {
			ch <- prometheus.MustNewConstMetric(descAns, prometheus.CounterValue, float64(n), st.Name, cache.Statuses[i])
		}
	}
}
