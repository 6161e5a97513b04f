package snapshot

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/proxy/router"
	"github.com/stargate-edge/stargate/internal/proxy/upstream"
	"github.com/stargate-edge/stargate/internal/store"
	"github.com/stargate-edge/stargate/internal/tenant"
	"github.com/stargate-edge/stargate/internal/tlscert"
	"github.com/stargate-edge/stargate/internal/vars"
)

// Prefix is the store directory the data plane follows.
const Prefix = "/apisix/"

// Options configures a Loader.
type Options struct {
	Store     store.Store
	Upstreams *upstream.Manager
	Keyring   *tlscert.Keyring
	Logger    *slog.Logger
	// DefaultCert answers TLS clients whose SNI matches no ssl object.
	DefaultCert *tls.Certificate
	// OnSwap is called after each swap (metrics).
	OnSwap func(s *Snapshot, compile time.Duration)
}

// Loader follows the store and keeps the current Snapshot.
type Loader struct {
	opts Options
	log  *slog.Logger
	cur  atomic.Pointer[Snapshot]

	// Compiler state, owned by the run goroutine.
	objs      map[string]map[string]store.KV // kind -> id -> kv
	routes    map[string]*router.Route       // compiled, by id
	upstreams map[string]*upstream.Upstream  // by upstream id
	errs      map[string]error               // object key -> why it is left out
	rtr       *router.Router
	// Reverse dependencies, so a changed upstream, service or
	// plugin_config recompiles only its routes, not all of them.
	owners map[string]string          // object key -> owning organization
	deps   map[string]routeDeps       // route id -> what it uses
	users  map[string]map[string]bool // "upstreams/u", "services/s", "plugin_configs/p" -> route ids
	mu     sync.Mutex
	cond   *sync.Cond
}

// New returns a Loader; call Run.
func New(opts Options) *Loader {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	l := &Loader{opts: opts, log: opts.Logger}
	l.cond = sync.NewCond(&l.mu)
	l.cur.Store(&Snapshot{Router: router.New(), Global: plugin.NewChain(nil), Certs: &Certs{Default: opts.DefaultCert}})
	return l
}

// Current returns the snapshot to serve a request with.
func (l *Loader) Current() *Snapshot { return l.cur.Load() }

// WaitRevision blocks until the served snapshot reflects rev or ctx ends.
func (l *Loader) WaitRevision(ctx context.Context, rev int64) error {
	stop := context.AfterFunc(ctx, func() {
		l.mu.Lock()
		l.cond.Broadcast()
		l.mu.Unlock()
	})
	defer stop()
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.cur.Load().Revision < rev {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		l.cond.Wait()
	}
	return nil
}

// ServeWait bounds how long Served holds an admin API answer. A change that
// recompiles a great many routes (a service or plugin_config shared by
// 100k of them) can take longer; the answer then says so instead of
// holding the client further.
const ServeWait = 2 * time.Second

// Served waits, at most ServeWait, until the data plane serves store
// revision rev: the admin API's Applied hook, so the request after a
// write's answer already sees the write.
func (l *Loader) Served(ctx context.Context, rev int64) error {
	c, cancel := context.WithTimeout(ctx, ServeWait)
	defer cancel()
	if err := l.WaitRevision(c, rev); err != nil {
		return fmt.Errorf("revision %d not served after %s: %w", rev, ServeWait, err)
	}
	return nil
}

// Start loads the full configuration, swaps in the first snapshot and
// follows the store in the background until ctx ends.
func (l *Loader) Start(ctx context.Context) error {
	rev, err := l.reload(ctx)
	if err != nil {
		return err
	}
	go l.follow(ctx, rev)
	return nil
}

func (l *Loader) reload(ctx context.Context) (int64, error) {
	kvs, rev, err := l.opts.Store.List(ctx, Prefix)
	if err != nil {
		return 0, fmt.Errorf("snapshot: load %s: %w", Prefix, err)
	}
	l.objs = map[string]map[string]store.KV{}
	l.routes = map[string]*router.Route{}
	l.upstreams = map[string]*upstream.Upstream{}
	l.errs = map[string]error{}
	l.rtr = router.New()
	l.deps, l.users = map[string]routeDeps{}, map[string]map[string]bool{}
	l.owners = map[string]string{}
	owners, _, err := l.opts.Store.List(ctx, tenant.OwnersPrefix+Prefix)
	if err != nil {
		return 0, fmt.Errorf("snapshot: load owners: %w", err)
	}
	for _, kv := range owners {
		l.put(kv)
	}
	for _, kv := range kvs {
		l.put(kv)
	}
	l.compileAll(rev)
	return rev, nil
}

// follow applies watch events in batches: everything that arrived while a
// compile ran is compiled together next.
func (l *Loader) follow(ctx context.Context, rev int64) {
	for ctx.Err() == nil {
		// Watch every key, not only Prefix: the served revision then
		// follows the store's, so "wait until revision N is served" works
		// for any write, and /metrics shows the true lag.
		ch := l.opts.Store.Watch(ctx, "/", rev)
		for resp := range ch {
			if resp.Err != nil {
				if ctx.Err() == nil {
					l.log.Warn("snapshot: watch ended, reloading", "err", resp.Err)
				}
				break
			}
			changed := map[string]bool{}
			last := resp.Revision
			apply := func(r store.WatchResponse) {
				for _, e := range r.Events {
					if e.Type == store.EventDelete {
						l.del(e.KV.Key)
					} else {
						l.put(e.KV)
					}
					changed[e.KV.Key] = true
					if e.KV.ModRevision > last {
						last = e.KV.ModRevision
					}
				}
				if r.Revision > last {
					last = r.Revision
				}
			}
			apply(resp)
		drain:
			for {
				select {
				case more, ok := <-ch:
					if !ok || more.Err != nil {
						break drain
					}
					apply(more)
				default:
					break drain
				}
			}
			l.compileChanges(changed, last)
			rev = last
		}
		if ctx.Err() != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
		if r, err := l.reload(ctx); err == nil {
			rev = r
		} else {
			l.log.Error("snapshot: reload failed", "err", err)
		}
	}
}

// splitKey turns "/apisix/routes/1" into ("routes", "1").
func splitKey(key string) (kind, id string, ok bool) {
	rest, ok := strings.CutPrefix(key, Prefix)
	if !ok {
		return "", "", false
	}
	kind, id, ok = strings.Cut(rest, "/")
	return kind, id, ok
}

func (l *Loader) put(kv store.KV) {
	if obj, ok := strings.CutPrefix(kv.Key, tenant.OwnersPrefix); ok {
		var rec tenant.OwnerRecord
		if json.Unmarshal(kv.Value, &rec) == nil {
			l.owners[obj] = rec.OrgID
		}
		return
	}
	kind, id, ok := splitKey(kv.Key)
	if !ok {
		return
	}
	if l.objs[kind] == nil {
		l.objs[kind] = map[string]store.KV{}
	}
	l.objs[kind][id] = kv
}

func (l *Loader) del(key string) {
	if obj, ok := strings.CutPrefix(key, tenant.OwnersPrefix); ok {
		delete(l.owners, obj)
		return
	}
	kind, id, ok := splitKey(key)
	if ok {
		delete(l.objs[kind], id)
	}
}

func (l *Loader) decode(kind, id string) (map[string]any, bool) {
	kv, ok := l.objs[kind][id]
	if !ok {
		return nil, false
	}
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(string(kv.Value)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		l.fail(kind+"/"+id, fmt.Errorf("not JSON: %w", err))
		return nil, false
	}
	return m, true
}

func (l *Loader) fail(key string, err error) {
	if prev, ok := l.errs[key]; !ok || prev.Error() != err.Error() {
		l.log.Error("snapshot: object left out", "object", key, "err", err)
	}
	l.errs[key] = err
}

// compileAll compiles everything (first load and reloads).
func (l *Loader) compileAll(rev int64) {
	changed := map[string]bool{}
	for kind, m := range l.objs {
		for id := range m {
			changed[Prefix+kind+"/"+id] = true
		}
	}
	l.compileChanges(changed, rev)
}

// compileChanges recompiles what the changed keys touch and swaps.
func (l *Loader) compileChanges(changed map[string]bool, rev int64) {
	start := time.Now()
	prev := l.cur.Load()
	routeIDs := map[string]bool{}
	upIDs := map[string]bool{}
	svcIDs := map[string]bool{}
	pcIDs := map[string]bool{}
	global, ssl, consumers := false, false, false
	for key := range changed {
		// An ownership change recompiles the object it is about.
		key = strings.TrimPrefix(key, tenant.OwnersPrefix)
		kind, id, ok := splitKey(key)
		if !ok {
			continue
		}
		delete(l.errs, kind+"/"+id)
		switch kind {
		case "routes":
			routeIDs[id] = true
		case "upstreams":
			upIDs[id] = true
		case "services":
			svcIDs[id] = true
		case "plugin_configs":
			pcIDs[id] = true
		case "global_rules":
			global = true
		case "ssls":
			ssl = true
		case "consumers", "consumer_groups":
			consumers = true
		case "plugin_metadata":
			if def, ok := plugin.Lookup(id); ok && def.Metadata != nil {
				m, _ := l.decode("plugin_metadata", id)
				if m != nil {
					delete(m, "id")
					delete(m, "create_time")
					delete(m, "update_time")
				}
				def.Metadata(m)
			}
		}
	}
	for id := range upIDs {
		l.compileUpstream(id)
	}
	// Routes that depend on a changed service, plugin_config or upstream,
	// found through the reverse index.
	addUsers := func(key string) {
		for rid := range l.users[key] {
			routeIDs[rid] = true
		}
	}
	for id := range svcIDs {
		addUsers("services/" + id)
	}
	for id := range pcIDs {
		addUsers("plugin_configs/" + id)
	}
	var upsert []*router.Route
	var remove []string
	for id := range routeIDs {
		delete(l.errs, "routes/"+id)
		l.indexRoute(id)
		rt, err := l.compileRoute(id)
		if err != nil {
			l.fail("routes/"+id, err)
		}
		if rt == nil {
			remove = append(remove, id)
			delete(l.routes, id)
			continue
		}
		l.routes[id] = rt
		upsert = append(upsert, rt)
	}
	sort.Slice(upsert, func(i, j int) bool { return upsert[i].ID < upsert[j].ID })
	rtr, err := l.rtr.With(upsert, remove)
	if err != nil {
		l.log.Error("snapshot: router update failed", "err", err)
		rtr = l.rtr
	}
	l.rtr = rtr

	next := &Snapshot{Revision: rev, Router: rtr, Global: prev.Global, Certs: prev.Certs, Consumers: prev.Consumers, upstreams: prev.upstreams}
	if len(upIDs) > 0 || next.upstreams == nil {
		next.upstreams = make(map[string]*upstream.Upstream, len(l.upstreams))
		for k, v := range l.upstreams {
			next.upstreams[k] = v
		}
	}
	if consumers || next.Consumers == nil {
		next.Consumers = l.compileConsumers()
	}
	if global || next.Global == nil {
		next.Global = l.compileGlobal()
	}
	if ssl || next.Certs == nil {
		next.Certs = l.compileCerts()
	}
	next.Errors = len(l.errs)
	next.Problems = make(map[string]string, len(l.errs))
	for k, err := range l.errs {
		next.Problems[k] = err.Error()
	}
	// Releasing the state of upstreams nothing uses any more scans every
	// object, so it runs only when something went away: a plain route
	// update reuses its upstream's key and must stay O(change).
	gone := len(remove) > 0
	for id := range upIDs {
		if _, ok := l.objs["upstreams"][id]; !ok {
			gone = true
		}
	}
	for id := range svcIDs {
		if _, ok := l.objs["services"][id]; !ok {
			gone = true
		}
	}
	if consumers || global {
		gone = true
	}
	if l.opts.Upstreams != nil && gone {
		l.opts.Upstreams.Retain(l.liveUpstreamKeys())
	}
	l.mu.Lock()
	l.cur.Store(next)
	l.cond.Broadcast()
	l.mu.Unlock()
	if l.opts.OnSwap != nil {
		l.opts.OnSwap(next, time.Since(start))
	}
}

// routeDeps are the objects a route's compiled form depends on. An
// upstream referenced by id is not one of them: the route keeps the id and
// the proxy looks it up in the snapshot per request, so changing an
// upstream that 100k routes share (its nodes, its health checks) costs one
// upstream compile, not 100k route compiles.
type routeDeps struct{ service, pluginConfig string }

func (d routeDeps) keys() []string {
	var out []string
	if d.service != "" {
		out = append(out, "services/"+d.service)
	}
	if d.pluginConfig != "" {
		out = append(out, "plugin_configs/"+d.pluginConfig)
	}
	return out
}

// indexRoute records (or forgets, for a deleted route) what a route uses.
func (l *Loader) indexRoute(id string) {
	for _, k := range l.deps[id].keys() {
		delete(l.users[k], id)
		if len(l.users[k]) == 0 {
			delete(l.users, k)
		}
	}
	delete(l.deps, id)
	m, ok := l.decode("routes", id)
	if !ok {
		return
	}
	d := routeDeps{service: str(m["service_id"]), pluginConfig: str(m["plugin_config_id"])}
	l.deps[id] = d
	for _, k := range d.keys() {
		if l.users[k] == nil {
			l.users[k] = map[string]bool{}
		}
		l.users[k][id] = true
	}
}

func (l *Loader) liveUpstreamKeys() map[string]struct{} {
	keep := map[string]struct{}{}
	for id := range l.upstreams {
		keep["upstreams/"+id] = struct{}{}
	}
	for id := range l.routes {
		keep["routes/"+id] = struct{}{}
		keep["services/"+id] = struct{}{}
	}
	for id := range l.objs["services"] {
		keep["services/"+id] = struct{}{}
	}
	for id := range l.objs["consumers"] {
		keep["consumers/"+id] = struct{}{}
	}
	keep["global_rules"] = struct{}{}
	return keep
}

func (l *Loader) compileUpstream(id string) {
	delete(l.upstreams, id)
	m, ok := l.decode("upstreams", id)
	if !ok || l.opts.Upstreams == nil {
		return
	}
	up, err := l.opts.Upstreams.Compile("upstreams/"+id, m)
	if err != nil {
		l.fail("upstreams/"+id, err)
		return
	}
	l.upstreams[id] = up
}

// compileRoute merges a route with its service and plugin_config. It
// returns nil for a route that must not be routed (absent, disabled or
// broken; err says why for the last).
func (l *Loader) compileRoute(id string) (*router.Route, error) {
	m, ok := l.decode("routes", id)
	if !ok {
		return nil, nil
	}
	if st, ok := m["status"]; ok && str(st) == "0" {
		return nil, nil
	}
	var svc map[string]any
	sid := str(m["service_id"])
	if sid != "" {
		if svc, ok = l.decode("services", sid); !ok {
			return nil, fmt.Errorf("service %s not found", sid)
		}
	}
	rt := &Route{ID: id, ServiceID: sid, Org: l.owners[Prefix+"routes/"+id], raw: l.objs["routes"][id].Value}
	if sid != "" {
		rt.svcRaw = l.objs["services"][sid].Value
	}
	rt.Name, _ = m["name"].(string)
	rt.ServiceName, _ = svc["name"].(string)
	if ws, ok := m["enable_websocket"].(bool); ok {
		rt.EnableWebsocket = ws
	} else if ws, ok := svc["enable_websocket"].(bool); ok {
		rt.EnableWebsocket = ws
	}

	// Upstream: the route's own beats its service's; inline beats id.
	switch {
	case m["upstream"] != nil:
		up, err := l.inlineUpstream("routes/"+id, m["upstream"])
		if err != nil {
			return nil, err
		}
		rt.Upstream = up
	case m["upstream_id"] != nil:
		rt.UpstreamID = str(m["upstream_id"])
	case svc != nil && svc["upstream"] != nil:
		up, err := l.inlineUpstream("services/"+sid, svc["upstream"])
		if err != nil {
			return nil, err
		}
		rt.Upstream = up
	case svc != nil && svc["upstream_id"] != nil:
		rt.UpstreamID = str(svc["upstream_id"])
	}
	if t, ok := m["timeout"].(map[string]any); ok {
		rt.Timeout = &upstream.Timeouts{Connect: seconds(t["connect"]), Send: seconds(t["send"]), Read: seconds(t["read"])}
	}

	// Plugins: route > plugin_config > service.
	plugins := map[string]any{}
	if p, ok := svc["plugins"].(map[string]any); ok {
		for k, v := range p {
			plugins[k] = v
		}
	}
	if pcid := str(m["plugin_config_id"]); pcid != "" {
		pc, ok := l.decode("plugin_configs", pcid)
		if !ok {
			return nil, fmt.Errorf("plugin_config %s not found", pcid)
		}
		if p, ok := pc["plugins"].(map[string]any); ok {
			for k, v := range p {
				plugins[k] = v
			}
		}
	}
	if p, ok := m["plugins"].(map[string]any); ok {
		for k, v := range p {
			plugins[k] = v
		}
	}
	chain, err := l.buildChain("routes/"+id, plugins)
	if err != nil {
		return nil, err
	}
	rt.Plugins = chain

	r := &router.Route{ID: id, Target: rt}
	r.Priority = int(num(m["priority"]))
	hosts := strList(m, "host", "hosts")
	if len(hosts) == 0 && svc != nil {
		hosts = strList(svc, "host", "hosts")
	}
	for i, h := range hosts { // strList's slice is ours: lower-case in place
		hosts[i] = strings.ToLower(h)
	}
	r.Hosts = hosts
	r.URIs = strList(m, "uri", "uris")
	for _, meth := range strList(m, "", "methods") {
		r.Methods |= router.MethodBit(meth)
	}
	for _, a := range strList(m, "remote_addr", "remote_addrs") {
		p, ok := parsePrefix(a)
		if !ok {
			return nil, fmt.Errorf("invalid remote_addr %q", a)
		}
		r.Remote = append(r.Remote, p)
	}
	if v, ok := m["vars"]; ok && v != nil {
		expr, err := vars.Compile(v)
		if err != nil {
			return nil, err
		}
		r.Vars = expr
	}
	return r, nil
}

func (l *Loader) inlineUpstream(key string, v any) (*upstream.Upstream, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("upstream is not an object")
	}
	if l.opts.Upstreams == nil {
		return nil, errors.New("no upstream manager")
	}
	return l.opts.Upstreams.Compile(key, m)
}

// buildChain instantiates plugins. A plugin without a runtime in this build
// keeps the route out (fail closed) instead of serving without it.
func (l *Loader) buildChain(key string, plugins map[string]any) (*plugin.Chain, error) {
	var ins []plugin.Instance
	for name, conf := range plugins {
		cm, _ := conf.(map[string]any)
		prio := 0
		var filter plugin.Filter
		var errResp []byte
		if meta, ok := cm["_meta"].(map[string]any); ok {
			if d, _ := meta["disable"].(bool); d {
				continue
			}
			if p, ok := meta["priority"]; ok {
				prio = int(num(p))
			}
			if f, ok := meta["filter"]; ok && f != nil {
				expr, err := vars.Compile(f)
				if err != nil {
					return nil, fmt.Errorf("plugin %s: _meta.filter: %w", name, err)
				}
				filter = filterExpr{expr}
			}
			switch er := meta["error_response"].(type) {
			case string:
				errResp = []byte(er)
			case map[string]any:
				errResp, _ = json.Marshal(er)
			}
		}
		def, ok := plugin.Lookup(name)
		if !ok {
			return nil, fmt.Errorf("unknown plugin %s", name)
		}
		var impl any
		var err error
		switch {
		case def.NewEnv != nil:
			impl, err = def.NewEnv(cm, plugin.Env{Key: key, Upstreams: l.opts.Upstreams, Logger: l.log})
		case def.New != nil:
			impl, err = def.New(cm)
		default:
			return nil, fmt.Errorf("plugin %s has no runtime in this build yet", name)
		}
		if err != nil {
			return nil, fmt.Errorf("plugin %s: %w", name, err)
		}
		if prio == 0 {
			prio = def.Priority
		}
		ins = append(ins, plugin.Instance{Name: name, Priority: prio, Impl: impl, Filter: filter, ErrorResponse: errResp, Transient: def.Transient, Inline: def.Inline})
	}
	return plugin.NewChain(ins), nil
}

// compileGlobal combines every global rule; a plugin found in two rules is
// dropped and logged (APISIX behaviour).
func (l *Loader) compileGlobal() *plugin.Chain {
	seen := map[string]int{}
	merged := map[string]any{}
	ids := make([]string, 0, len(l.objs["global_rules"]))
	for id := range l.objs["global_rules"] {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		m, ok := l.decode("global_rules", id)
		if !ok {
			continue
		}
		p, _ := m["plugins"].(map[string]any)
		for name, conf := range p {
			seen[name]++
			merged[name] = conf
		}
	}
	for name, n := range seen {
		if n > 1 {
			l.log.Warn("snapshot: plugin in several global rules dropped", "plugin", name)
			delete(merged, name)
		}
	}
	chain, err := l.buildChain("global_rules", merged)
	if err != nil {
		l.fail("global_rules", err)
		return plugin.NewChain(nil)
	}
	return chain
}

func (l *Loader) compileCerts() *Certs {
	c := &Certs{exact: map[string]*tls.Certificate{}, wildcard: map[string]*tls.Certificate{}, Default: l.opts.DefaultCert}
	ids := make([]string, 0, len(l.objs["ssls"]))
	for id := range l.objs["ssls"] {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		m, ok := l.decode("ssls", id)
		if !ok {
			continue
		}
		if str(m["status"]) == "0" || (m["type"] != nil && m["type"] != "server") {
			continue
		}
		cert, err := l.keyPair(m["cert"], m["key"])
		if err != nil {
			l.fail("ssls/"+id, err)
			continue
		}
		for _, name := range strList(m, "sni", "snis") {
			name = strings.ToLower(name)
			if rest, ok := strings.CutPrefix(name, "*"); ok {
				c.wildcard[rest] = cert
			} else {
				c.exact[name] = cert
			}
		}
	}
	return c
}

func (l *Loader) keyPair(certV, keyV any) (*tls.Certificate, error) {
	certPEM, _ := certV.(string)
	keyPEM, _ := keyV.(string)
	if l.opts.Keyring != nil {
		k, err := l.opts.Keyring.Decrypt(keyPEM)
		if err != nil {
			return nil, err
		}
		keyPEM = k
	}
	cert, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	return &cert, nil
}

// filterExpr adapts a vars expression to plugin.Filter.
type filterExpr struct{ e *vars.Expr }

func (f filterExpr) Match(v plugin.Vars) bool { return f.e.Match(v) }

func str(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case json.Number:
		return t.String()
	}
	return fmt.Sprint(v)
}

func num(v any) float64 {
	switch t := v.(type) {
	case json.Number:
		f, _ := t.Float64()
		return f
	case float64:
		return t
	}
	return 0
}

func seconds(v any) time.Duration { return time.Duration(num(v) * float64(time.Second)) }

// strList collects a string field and a string-array field into one
// slice, allocated once at its final size (compiled routes keep it).
func strList(m map[string]any, single, multi string) []string {
	s1, ok1 := m[single].(string)
	ok1 = ok1 && single != ""
	arr, _ := m[multi].([]any)
	if !ok1 && len(arr) == 0 {
		return nil
	}
	n := len(arr)
	if ok1 {
		n++
	}
	out := make([]string, 0, n)
	if ok1 {
		out = append(out, s1)
	}
	for _, e := range arr {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
