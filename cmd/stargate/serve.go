package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/stargate-edge/stargate/internal/gctune"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stargate-edge/stargate/internal/admin"
	"github.com/stargate-edge/stargate/internal/config"
	"github.com/stargate-edge/stargate/internal/metrics"
	_ "github.com/stargate-edge/stargate/internal/plugin/standard"
	"github.com/stargate-edge/stargate/internal/proxy/upstream"
	"github.com/stargate-edge/stargate/internal/snapshot"
	"github.com/stargate-edge/stargate/internal/store"
	"github.com/stargate-edge/stargate/internal/store/boltstore"
	"github.com/stargate-edge/stargate/internal/store/etcdstore"
	"github.com/stargate-edge/stargate/internal/tenant"
	"github.com/stargate-edge/stargate/internal/tlscert"
)

// serve runs the configured roles until ctx ends, then shuts down: stop
// accepting, finish in-flight requests, close the store.
// gcHeadroom is how far the heap may grow past the live heap before a
// collection (internal/gctune); GOGC or GOMEMLIMIT in the environment
// turn the tuning off.
const gcHeadroom = 64 << 20

func serve(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	if gctune.Start(gcHeadroom) {
		log.Debug("gc tuned", "headroom_bytes", gcHeadroom)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("closing store", "err", err)
		}
		log.Info("store closed")
	}()

	reg := metrics.New()
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "stargate", Subsystem: "store", Name: "revision",
		Help: "The newest store revision this process has seen.",
	}, func() float64 {
		c, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		rev, _ := st.Revision(c)
		return float64(rev)
	}))

	var ready atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /metrics", reg.Handler())

	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	ring, err := keyring(cfg)
	if err != nil {
		return err
	}
	var matcherImpl admin.Matcher
	var applied func(context.Context, int64) error
	var problem func(string) string
	var caches admin.CacheService
	if cfg.Role == "all" || cfg.Role == "edge" {
		e, err := startEdge(runCtx, cfg, st, ring, log, reg)
		if err != nil {
			return err
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
			defer cancel()
			e.shutdown(sctx)
		}()
		matcherImpl = matcher{loader: e.loader}
		caches = admin.CacheRegistry{}
		problem = func(key string) string { return e.loader.Current().Problems[key] }
		applied = e.loader.Served
	} else {
		// A control node compiles the configuration too, to answer
		// /debug/match, but serves no traffic.
		loader := snapshot.New(snapshot.Options{Store: st, Keyring: ring, Logger: log, Upstreams: upstream.NewManager(log)})
		if err := loader.Start(runCtx); err != nil {
			return err
		}
		matcherImpl = matcher{loader: loader}
	}
	var adm *admin.Server
	if cfg.Role == "all" || cfg.Role == "control" {
		keys, err := adminKeys(cfg, log)
		if err != nil {
			return err
		}
		zones := map[string]string{}
		for _, z := range cfg.CacheZones {
			zones[z.Name] = z.Kind
		}
		adm = admin.New(admin.Options{
			Store: st, Keys: keys, KeyRequired: cfg.KeyRequired(), Keyring: ring,
			Logger: log, Version: version, CacheZones: zones, Matcher: matcherImpl, Applied: applied, Problem: problem, Caches: caches,
			Accounts: admin.AccountOptions{
				SignupEnabled: cfg.SignupEnabled, SessionTTL: cfg.SessionTTL,
				Login:          tenant.LoginLimits{PerAddress: cfg.LoginLimits.PerAddress, PerAccount: cfg.LoginLimits.PerAccount, Window: cfg.LoginLimits.Window},
				AuditRetention: cfg.AuditRetention, AuditMax: cfg.AuditMaxEntries,
			},
		})
		if err := adm.Start(runCtx); err != nil {
			return err
		}
		h := instrument(reg, adm.Handler())
		for _, p := range admin.Prefixes {
			mux.Handle(p+"/", h)
			mux.Handle(p, h)
		}
	}

	if cfg.Role == "all" || cfg.Role == "edge" {
		stopDNS, err := startDNS(runCtx, cfg, st, log, reg)
		if err != nil {
			return err
		}
		defer stopDNS()
	}

	ln, err := net.Listen("tcp", cfg.AdminListen)
	if err != nil {
		return fmt.Errorf("admin listener: %w", err)
	}
	log.Info("admin API listening", "addr", ln.Addr().String(), "role", cfg.Role, "store", cfg.Store)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	ready.Store(true)
	log.Info("stargate ready", "version", version)

	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-errc:
		return fmt.Errorf("admin listener: %w", err)
	}
	ready.Store(false)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("admin listener did not drain in time", "err", err)
	}
	if adm != nil {
		adm.Sync(sctx) // the audit log of the last writes
	}
	cancelRun()
	return nil
}

func openStore(ctx context.Context, cfg config.Config, log *slog.Logger) (store.Store, error) {
	switch cfg.Store {
	case "etcd":
		st, err := etcdstore.New(ctx, etcdstore.Config{Endpoints: cfg.EtcdEndpoints})
		if err != nil {
			return nil, fmt.Errorf("etcd store: %w", err)
		}
		return st, nil
	default:
		path := filepath.Join(cfg.DataDir, "stargate.db")
		st, err := boltstore.Open(path, boltstore.Options{Logger: log})
		if err != nil {
			return nil, err
		}
		log.Info("store opened", "path", path)
		return st, nil
	}
}

// adminKeys collects the configured keys; with no admin key configured it
// uses the one stored in <data-dir>/admin.key, generating it on first start
// and printing it once.
func adminKeys(cfg config.Config, log *slog.Logger) ([]admin.Key, error) {
	var keys []admin.Key
	hasAdmin := false
	if cfg.AdminKey != "" {
		keys = append(keys, admin.Key{Name: "admin", Key: cfg.AdminKey, Role: admin.RoleAdmin})
		hasAdmin = true
	}
	for _, k := range cfg.AdminKeys {
		keys = append(keys, admin.Key{Name: k.Name, Key: k.Key, Role: admin.Role(k.Role)})
		hasAdmin = hasAdmin || k.Role == "admin"
	}
	if cfg.ViewerKey != "" {
		keys = append(keys, admin.Key{Name: "viewer", Key: cfg.ViewerKey, Role: admin.RoleViewer})
	}
	if hasAdmin || !cfg.KeyRequired() {
		return keys, nil
	}
	path := filepath.Join(cfg.DataDir, "admin.key")
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		k := strings.TrimSpace(string(b))
		if k == "" {
			return nil, fmt.Errorf("admin key file %s is empty", path)
		}
		log.Info("admin key loaded", "file", path)
		return append(keys, admin.Key{Name: "admin", Key: k, Role: admin.RoleAdmin}), nil
	case errors.Is(err, os.ErrNotExist):
		buf := make([]byte, 16)
		if _, err := rand.Read(buf); err != nil {
			return nil, fmt.Errorf("generate admin key: %w", err)
		}
		k := hex.EncodeToString(buf)
		if err := os.WriteFile(path, []byte(k+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("write admin key: %w", err)
		}
		fmt.Fprintf(os.Stdout, "Generated admin API key (saved to %s): %s\n", path, k)
		log.Info("admin key generated", "file", path)
		return append(keys, admin.Key{Name: "admin", Key: k, Role: admin.RoleAdmin}), nil
	default:
		return nil, fmt.Errorf("read admin key: %w", err)
	}
}

func keyring(cfg config.Config) (*tlscert.Keyring, error) {
	if cfg.SSLEncryptKey != "" {
		return tlscert.ParseKeyring(cfg.SSLEncryptKey)
	}
	return tlscert.LoadOrCreateKeyring(filepath.Join(cfg.DataDir, "ssl.keyring"))
}

// instrument counts admin requests by method and status class.
func instrument(reg *metrics.Registry, h http.Handler) http.Handler {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "stargate", Subsystem: "admin", Name: "requests_total",
		Help: "Admin API requests by method and status code class.",
	}, []string{"method", "code"})
	reg.MustRegister(c)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: 200}
		h.ServeHTTP(sw, r)
		m := r.Method
		switch m {
		case "GET", "PUT", "POST", "PATCH", "DELETE", "HEAD", "OPTIONS":
		default:
			m = "OTHER"
		}
		c.WithLabelValues(m, fmt.Sprintf("%dxx", sw.code/100)).Inc()
	})
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}
