package proxycache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stargate-edge/stargate/internal/cache"
	"github.com/stargate-edge/stargate/internal/cache/httpcache"
	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/plugin/confcheck"
)

// Tunables.
const (
	// lockTimeout bounds how long a miss waits for the same key's fetch
	// in flight before going to the origin itself (nginx's
	// proxy_cache_lock_timeout).
	lockTimeout = 10 * time.Second
	// passFor is how long a key whose response was not cacheable skips
	// request coalescing (Varnish's hit-for-miss).
	passFor = 10 * time.Second
	// refreshTimeout bounds a background refresh.
	refreshTimeout = time.Minute
	// statusHeader is APISIX's cache status header.
	statusHeader = "Apisix-Cache-Status"
)

// Cache statuses, as nginx's $upstream_cache_status names them.
const (
	statusMiss        = "MISS"
	statusHit         = "HIT"
	statusExpired     = "EXPIRED"
	statusStale       = "STALE"
	statusUpdating    = "UPDATING"
	statusBypass      = "BYPASS"
	statusRevalidated = "REVALIDATED"
)

// Shared, exact-capacity header values: a filter that appends copies them.
var statusValues = map[string][]string{}

func init() {
	for _, s := range []string{statusMiss, statusHit, statusExpired, statusStale, statusUpdating, statusBypass, statusRevalidated} {
		statusValues[s] = []string{s}
	}
}

// part is one item of cache_key, cache_bypass or no_cache: a literal or a
// $variable.
type part struct {
	lit, name string
}

func parts(items []string) []part {
	out := make([]part, 0, len(items))
	for _, it := range items {
		if strings.HasPrefix(it, "$") {
			out = append(out, part{name: it[1:]})
		} else {
			out = append(out, part{lit: it})
		}
	}
	return out
}

// cacher is proxy-cache compiled. It is a plugin.Responder: it answers
// from its zone, or fetches (coalesced, revalidating when it can) and
// stores what RFC 9111 and its configuration allow.
type cacher struct {
	zone         *cache.Zone
	key          []part
	defaultKey   bool
	statuses     [600]bool
	methods      map[string]bool
	bypass       []part
	noCache      []part
	hide         bool
	cacheControl bool
	ttl          time.Duration
	isolation    bool
	setCookie    bool
	maxBody      int64
}

var _ plugin.Responder = (*cacher)(nil)

func newCacher(conf map[string]any) (any, error) {
	p := &cacher{methods: map[string]bool{"GET": true, "HEAD": true}, isolation: true, maxBody: 0}
	strategy := "disk"
	if s, ok := confcheck.String(conf, "cache_strategy"); ok {
		strategy = s
	}
	zoneName := "disk_cache_one"
	if s, ok := confcheck.String(conf, "cache_zone"); ok {
		zoneName = s
	}
	z, ok := cache.Lookup(zoneName)
	if !ok {
		return nil, fmt.Errorf("cache_zone %s not found", zoneName)
	}
	if z.Kind() != strategy {
		return nil, fmt.Errorf("cache_zone %s is a %s zone, not %s", zoneName, z.Kind(), strategy)
	}
	p.zone = z
	keys := []string{"$host", "$request_uri"}
	if k, ok := confcheck.Strings(conf, "cache_key"); ok && len(k) > 0 {
		keys = k
	}
	p.key = parts(keys)
	p.defaultKey = len(keys) == 2 && keys[0] == "$host" && keys[1] == "$request_uri"
	statuses := []int{200, 301, 404}
	if arr, ok := conf["cache_http_status"].([]any); ok && len(arr) > 0 {
		statuses = statuses[:0]
		for _, v := range arr {
			if n, ok := confcheck.Number(v); ok {
				statuses = append(statuses, int(n))
			}
		}
	}
	for _, s := range statuses {
		if s >= 0 && s < len(p.statuses) {
			p.statuses[s] = true
		}
	}
	if m, ok := confcheck.Strings(conf, "cache_method"); ok && len(m) > 0 {
		p.methods = map[string]bool{}
		for _, x := range m {
			p.methods[x] = true
		}
	}
	if b, ok := confcheck.Strings(conf, "cache_bypass"); ok {
		p.bypass = parts(b)
	}
	if b, ok := confcheck.Strings(conf, "no_cache"); ok {
		p.noCache = parts(b)
	}
	p.hide, _ = confcheck.Bool(conf, "hide_cache_headers")
	p.cacheControl, _ = confcheck.Bool(conf, "cache_control")
	if b, ok := confcheck.Bool(conf, "consumer_isolation"); ok {
		p.isolation = b
	}
	p.setCookie, _ = confcheck.Bool(conf, "cache_set_cookie")
	if n, ok := confcheck.Number(conf["max_resp_body_size"]); ok && n > 0 {
		p.maxBody = int64(n)
	}
	// cache_ttl applies to memory zones; disk zones use the zone's default
	// (APISIX: proxy_cache.cache_ttl, 10s).
	p.ttl = z.DefaultTTL()
	if strategy == cache.KindMemory {
		p.ttl = 300 * time.Second
		if n, ok := confcheck.Number(conf["cache_ttl"]); ok && n >= 1 {
			p.ttl = time.Duration(n) * time.Second
		}
	}
	return p, nil
}

// eval concatenates parts (APISIX's generate_complex_value).
func eval(c *plugin.Ctx, ps []part) string {
	if len(ps) == 1 {
		if ps[0].name == "" {
			return ps[0].lit
		}
		v, _ := c.Vars.Var(ps[0].name)
		return v
	}
	var b strings.Builder
	for _, p := range ps {
		if p.name == "" {
			b.WriteString(p.lit)
		} else if v, ok := c.Vars.Var(p.name); ok {
			b.WriteString(v)
		}
	}
	return b.String()
}

// truthy: a value neither empty nor "0" (cache_bypass, no_cache).
func truthy(c *plugin.Ctx, ps []part) bool {
	if len(ps) == 0 {
		return false
	}
	v := eval(c, ps)
	return v != "" && v != "0"
}

// cacheKey is the request's key; with consumer_isolation, an
// authenticated consumer's responses are kept apart.
func (p *cacher) cacheKey(c *plugin.Ctx) string {
	var k string
	if p.defaultKey {
		host, _ := c.Vars.Var("host")
		k = host + c.Req.URL.RequestURI()
	} else {
		k = eval(c, p.key)
	}
	if p.isolation && c.Consumer != nil && c.Consumer.Username != "" {
		k += "#consumer=" + c.Consumer.Username
	}
	return k
}

// request is one request's cache context.
type request struct {
	p     *cacher
	c     *plugin.Ctx
	fetch func(req *http.Request, background bool) (*http.Response, error)
	key   string
	cc    httpcache.Directives // the request's Cache-Control, with cache_control on
}

// Respond implements plugin.Responder.
func (p *cacher) Respond(c *plugin.Ctx, origin plugin.Origin) (*http.Response, error) {
	r := c.Req
	key := p.cacheKey(c)
	if resp, ok := p.hit(c, key); ok {
		return resp, nil
	}
	q := &request{p: p, c: c, fetch: origin.Fetch, key: key}
	if r.Method == "PURGE" {
		status := http.StatusNotFound
		if p.zone.Delete(q.key) {
			status = http.StatusOK
		}
		return &http.Response{StatusCode: status, Header: http.Header{}, Body: http.NoBody}, nil
	}
	if !p.methods[r.Method] {
		return q.pass(statusMiss)
	}
	if p.cacheControl {
		q.cc = httpcache.ParseCacheControl(r.Header)
		if q.cc.NoStore || q.cc.NoCache {
			return q.pass(statusBypass)
		}
	} else {
		q.cc = noDirectives
	}
	if truthy(c, p.bypass) {
		// Skip the lookup; the response is still stored (nginx's
		// proxy_cache_bypass), so a bypass refreshes the entry.
		return q.lead(nil, nil, statusBypass)
	}
	return q.serve()
}

// RespondInline implements plugin.InlineResponder: a fresh entry answers
// without waiting (Respond's fast path); anything else (a miss, a stale
// entry, a purge) is Respond's, off the event loop.
func (p *cacher) RespondInline(c *plugin.Ctx) (*http.Response, bool) {
	return p.hit(c, p.cacheKey(c))
}

// hit is the fast path of a fresh entry: nothing allocated beyond the
// answer itself.
func (p *cacher) hit(c *plugin.Ctx, key string) (*http.Response, bool) {
	if p.cacheControl || len(p.bypass) > 0 || !p.methods[c.Req.Method] {
		return nil, false
	}
	e := p.zone.LookupFor(key, upstreamView{c})
	now := time.Now()
	if e == nil || !e.Fresh(now) {
		return nil, false
	}
	return p.answer(c, e, statusHit, now)
}

var noDirectives = httpcache.ParseCacheControlValues(nil)

// upstreamView is the request's header for Vary as the origin received
// it: the fields the proxy sets itself (X-Forwarded-*, X-Real-IP) with
// the proxy's values. With the client's own, an origin that varies on
// X-Forwarded-Proto had its http answer (a redirect to https) served to
// https clients, a redirect loop; one that varies on X-Real-IP had one
// client's answer served to all.
type upstreamView struct{ c *plugin.Ctx }

func (v upstreamView) For(names []string) http.Header {
	if !plugin.NamesForwarded(names) {
		return v.c.Req.Header // the common case: nothing computed
	}
	vals := plugin.ForwardedValues(v.c)
	return plugin.WithForwarded(v.c.Req.Header, names, &vals)
}

// pass fetches without touching the cache.
func (q *request) pass(status string) (*http.Response, error) {
	resp, err := q.fetch(q.c.Req, false)
	if err != nil {
		return nil, err
	}
	return q.decorate(resp, status), nil
}

// decorate sets the cache status and hides cache headers if asked.
func (q *request) decorate(resp *http.Response, status string) *http.Response {
	if resp.Header == nil {
		resp.Header = http.Header{}
	}
	resp.Header[statusHeader] = statusValues[status]
	q.p.zone.Count(status)
	if q.p.hide {
		delete(resp.Header, "Cache-Control")
		delete(resp.Header, "Expires")
	}
	return resp
}

// serve answers from the zone when it can and fetches otherwise,
// coalescing concurrent misses for the key into one origin request.
func (q *request) serve() (*http.Response, error) {
	r := q.c.Req
	p := q.p
	for attempt := 0; ; attempt++ {
		now := time.Now()
		e := p.zone.LookupFor(q.key, upstreamView{q.c})
		if e != nil {
			if q.fresh(e, now) {
				if resp, ok := q.fromEntry(e, statusHit, now); ok {
					return resp, nil
				}
				continue // the object vanished (purged, evicted, corrupt): look again
			}
			stale := e.Staleness(now)
			if !e.MustRevalidate() {
				// The client accepts staleness (max-stale, with cache_control).
				if q.cc.MaxStale >= 0 && stale <= seconds(q.cc.MaxStale) {
					if resp, ok := q.fromEntry(e, statusStale, now); ok {
						return resp, nil
					}
					continue
				}
				// RFC 5861 stale-while-revalidate: serve it, refresh behind.
				if e.SWR >= 0 && stale <= seconds(int64(e.SWR)) && !e.NoCache() && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
					q.refreshInBackground(e)
					if resp, ok := q.fromEntry(e, statusUpdating, now); ok {
						return resp, nil
					}
					continue
				}
			}
		}
		if q.cc.OnlyIfCached {
			return q.decorate(&http.Response{StatusCode: http.StatusGatewayTimeout, Header: http.Header{}, Body: http.NoBody}, statusMiss), nil
		}
		status := statusMiss
		if e != nil {
			status = statusExpired
		}
		if p.zone.Passing(q.key) && (r.Method == http.MethodHead || r.Header["Range"] != nil) {
			// Known not to be cacheable: a HEAD asks the origin for
			// headers only, a Range for its range, not for a whole body.
			return q.pass(status)
		}
		if attempt >= 2 || p.zone.Passing(q.key) {
			return q.lead(e, nil, status)
		}
		f, leader := p.zone.Acquire(q.key)
		if leader {
			return q.lead(e, f, status)
		}
		if !f.Wait(r.Context(), lockTimeout) {
			if r.Context().Err() != nil {
				return nil, &plugin.UpstreamError{ClientGone: true, Err: r.Context().Err()}
			}
			return q.lead(e, nil, status) // waited too long: fetch alongside
		}
		if !f.Stored() {
			if p.zone.Passing(q.key) {
				return q.lead(e, nil, status) // not cacheable: no point waiting again
			}
			// The fill failed (the origin erred, its body broke off,
			// its client left): one of the waiters fills instead of all
			// of them going to the origin at once (attempt bounds the
			// rounds).
			continue
		}
	}
}

func seconds(n int64) time.Duration { return time.Duration(n) * time.Second }

// fresh applies the entry's freshness and, with cache_control, the
// request's max-age and min-fresh.
func (q *request) fresh(e *cache.Entry, now time.Time) bool {
	if !e.Fresh(now) {
		return false
	}
	if q.cc.MaxAge >= 0 && e.Age(now) > seconds(q.cc.MaxAge) {
		return false
	}
	if q.cc.MinFresh >= 0 && -e.Staleness(now) < seconds(q.cc.MinFresh) {
		return false
	}
	return true
}

// originRequest is the request sent to fill the cache: GET for a HEAD,
// without the client's conditionals and range (the cache wants the whole
// representation), with the stale entry's validators when it has some.
func (q *request) originRequest(ctx context.Context, stale *cache.Entry) (*http.Request, bool) {
	r := q.c.Req
	out := r.Clone(ctx)
	if out.Method == http.MethodHead {
		out.Method = http.MethodGet
	}
	if out.Method == http.MethodGet {
		out.Body, out.ContentLength = http.NoBody, 0
	}
	for _, h := range httpcache.ClientConditionals {
		out.Header.Del(h)
	}
	conditional := false
	if stale != nil && stale.HasValidators() {
		if obj, err := q.p.zone.Open(stale); err == nil {
			httpcache.Conditional(out.Header, obj.Header)
			obj.Close()
			conditional = true
		}
	}
	return out, conditional
}

// lead fetches from the origin for this request (f, when set, is the
// flight other requests wait on; it is released once the outcome is
// known), stores what may be stored and answers.
func (q *request) lead(stale *cache.Entry, f *cache.Flight, status string) (*http.Response, error) {
	p := q.p
	released := false
	release := func(stored bool) {
		if f != nil && !released {
			released = true
			p.zone.Release(q.key, f, stored)
		}
	}
	out, conditional := q.originRequest(q.c.Req.Context(), stale)
	reqTime := time.Now()
	resp, err := q.fetch(out, false)
	respTime := time.Now()
	if err != nil || resp.StatusCode >= 500 {
		// RFC 5861 stale-if-error.
		if stale != nil && q.staleOnError(stale, respTime) {
			if resp != nil {
				resp.Body.Close()
			}
			release(false)
			if r, ok := q.fromEntry(stale, statusStale, respTime); ok {
				return r, nil
			}
			if err == nil {
				err = errors.New("stale object vanished")
			}
			return nil, &plugin.UpstreamError{Err: err}
		}
		release(false)
		if err != nil {
			return nil, err
		}
		return q.decorate(resp, status), nil
	}
	ri := q.info(out)
	if resp.StatusCode == http.StatusNotModified && conditional {
		ne, rerr := q.refresh(ri, stale, resp, reqTime, respTime)
		resp.Body.Close()
		release(ne != nil)
		if rerr != nil {
			p.zone.Delete(q.key) // do not keep revalidating an entry we cannot refresh
		}
		e := stale
		if ne != nil {
			e = ne
		}
		if r, ok := q.fromEntry(e, statusRevalidated, respTime); ok {
			return r, nil
		}
		return nil, &plugin.UpstreamError{Err: errors.New("revalidated object vanished")}
	}
	return q.store(ri, resp, reqTime, respTime, status, release)
}

// staleOnError: the entry may answer when the origin fails.
func (q *request) staleOnError(e *cache.Entry, now time.Time) bool {
	if e.MustRevalidate() {
		return false
	}
	window := int64(e.SIE)
	if q.cc.StaleIfError > window {
		window = q.cc.StaleIfError
	}
	return window >= 0 && e.Staleness(now) <= seconds(window)
}

// reqInfo is what storing needs from the client's request, taken while
// the request is live (a background refresh outlives it).
type reqInfo struct {
	header  http.Header
	url     string
	method  string
	noCache bool
	// fwd: the values the proxy sends for plugin.ForwardedFields, for
	// the variant (a background refresh outlives the client's request).
	fwd [4]string
}

func (q *request) info(out *http.Request) reqInfo {
	c := q.c
	scheme, _ := c.Vars.Var("scheme")
	host, _ := c.Vars.Var("host")
	method := c.Req.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	return reqInfo{header: out.Header, url: scheme + "://" + host + c.Req.URL.RequestURI(), method: method,
		noCache: truthy(c, q.p.noCache), fwd: plugin.ForwardedValues(c)}
}

// meta decides whether resp may be stored and describes it.
func (q *request) meta(ri reqInfo, resp *http.Response, reqTime, respTime time.Time) (cache.Meta, bool) {
	p := q.p
	if resp.StatusCode < 0 || resp.StatusCode >= len(p.statuses) || !p.statuses[resp.StatusCode] || ri.noCache {
		return cache.Meta{}, false
	}
	cc := httpcache.ParseCacheControl(resp.Header)
	if ok, _ := httpcache.Storable(ri.header, cc, resp.StatusCode, resp.Header); !ok {
		return cache.Meta{}, false
	}
	if _, ok := resp.Header["Set-Cookie"]; ok && !p.setCookie {
		return cache.Meta{}, false
	}
	lifetime, _ := httpcache.Lifetime(cc, resp.Header, respTime, p.ttl)
	noCache := cc.NoCache && len(cc.NoCacheFields) == 0
	validators := httpcache.HasValidators(resp.Header)
	age := httpcache.InitialAge(resp.Header, reqTime, respTime)
	if (lifetime <= age || noCache) && !validators {
		return cache.Meta{}, false // stale on arrival: nothing a later request could reuse
	}
	h := resp.Header.Clone()
	httpcache.StripFields(h, cc)
	delete(h, statusHeader)
	if _, ok := h["Date"]; !ok {
		h["Date"] = []string{respTime.UTC().Format(http.TimeFormat)}
	}
	names, _ := httpcache.VaryFields(resp.Header)
	swr, sie := -1, -1
	if cc.StaleWhileRevalidate >= 0 {
		swr = int(cc.StaleWhileRevalidate)
	}
	if cc.StaleIfError >= 0 {
		sie = int(cc.StaleIfError)
	}
	return cache.Meta{
		Key: q.key, Vary: names, Variant: httpcache.VariantHash(names, plugin.WithForwarded(ri.header, names, &ri.fwd)),
		URL: ri.url, Method: ri.method, Status: resp.StatusCode,
		Header: h, StoredAt: respTime, ExpiresAt: respTime.Add(lifetime - age), InitialAge: age,
		SWR: swr, SIE: sie, NoCache: noCache,
		MustRevalidate: cc.MustRevalidate || cc.ProxyRevalidate || cc.SMaxAge >= 0,
	}, true
}

// wantsWhole: the client's request is answered from the stored object,
// not from the origin's stream (HEAD, a range, a conditional).
func wantsWhole(r *http.Request) bool {
	if r.Method == http.MethodHead {
		return true
	}
	h := r.Header
	return h.Get("Range") != "" || h.Get("If-None-Match") != "" || h.Get("If-Modified-Since") != ""
}

// store answers with resp, storing its body on the way when allowed.
func (q *request) store(ri reqInfo, resp *http.Response, reqTime, respTime time.Time, status string, release func(bool)) (*http.Response, error) {
	p := q.p
	m, ok := q.meta(ri, resp, reqTime, respTime)
	if !ok {
		// Marked before the release, so that waiters see it and go
		// their own way rather than wait on each other.
		p.zone.MarkPass(q.key, passFor)
		release(false)
		return q.unstored(resp, status)
	}
	p.zone.ClearPass(q.key)
	w, err := p.zone.NewWriter(m, p.maxBody)
	if err != nil {
		q.passIfTooLarge(err)
		release(false)
		return q.unstored(resp, status)
	}
	if wantsWhole(q.c.Req) && resp.ContentLength >= 0 {
		// Fill the cache first, then answer from the object.
		_, err := io.Copy(w, resp.Body)
		resp.Body.Close()
		var e *cache.Entry
		if err == nil {
			e, err = w.Commit()
		} else {
			w.Abort()
		}
		release(e != nil)
		if e != nil {
			if r, ok := q.fromEntry(e, status, time.Now()); ok {
				return r, nil
			}
		}
		if err == nil {
			err = errors.New("stored object vanished")
		}
		return nil, &plugin.UpstreamError{Err: err}
	}
	resp.Body = &tee{src: resp.Body, w: w, done: release, q: q}
	return q.decorate(resp, status), nil
}

// passIfTooLarge marks the key not cacheable when err says the body does
// not fit the zone (its Content-Length said so, or it outgrew the zone on
// the way): it will not fit next time either, and requests for it should
// not queue behind another doomed fill. Called before the waiters are
// released, so that they see it.
func (q *request) passIfTooLarge(err error) {
	if errors.Is(err, cache.ErrTooLarge) {
		q.p.zone.MarkPass(q.key, passFor)
	}
}

// unstored answers with an origin response that will not be stored. It
// was fetched whole, for the cache (originRequest); the client may want
// less. A HEAD gets the headers without the body being read to its end
// (every HEAD cost the whole object), a Range request is sent to the
// origin as it came, range included (it got the whole body as a 200,
// which breaks seeking in media). Closing the body early closes that
// upstream connection.
func (q *request) unstored(resp *http.Response, status string) (*http.Response, error) {
	r := q.c.Req
	switch {
	case r.Method == http.MethodHead:
		resp.Body.Close()
		resp.Body = http.NoBody
	case r.Header["Range"] != nil && resp.StatusCode == http.StatusOK:
		resp.Body.Close()
		return q.pass(status)
	}
	return q.decorate(resp, status), nil
}

// refresh applies a 304 to a stale entry (RFC 9111 §4.3.4).
func (q *request) refresh(ri reqInfo, e *cache.Entry, nm *http.Response, reqTime, respTime time.Time) (*cache.Entry, error) {
	obj, err := q.p.zone.Open(e)
	if err != nil {
		return nil, err
	}
	h := httpcache.UpdateHeaders(obj.Header, nm.Header)
	obj.Close()
	merged := &http.Response{StatusCode: int(e.Status), Header: h, ContentLength: e.Size}
	m, ok := q.meta(ri, merged, reqTime, respTime)
	if !ok {
		return nil, errors.New("revalidated response no longer cacheable")
	}
	// Keep the stored variant and URL: the 304 answers the same request.
	m.Method, m.URL = e.Method(), e.URL()
	return q.p.zone.Refresh(e, m)
}

// refreshInBackground revalidates a stale entry after the answer (RFC
// 5861 stale-while-revalidate), unless a fetch for the key is running.
func (q *request) refreshInBackground(e *cache.Entry) {
	p := q.p
	f, leader := p.zone.Acquire(q.key)
	if !leader {
		return
	}
	out, conditional := q.originRequest(context.Background(), e)
	ri := q.info(out)
	bq := &request{p: p, fetch: q.fetch, key: q.key, cc: q.cc}
	// From here on nothing reads the client's request: the refresh
	// outlives it.
	ok := p.zone.Go(func(ctx context.Context) {
		stored := false
		defer func() { p.zone.Release(q.key, f, stored) }()
		ctx, cancel := context.WithTimeout(ctx, refreshTimeout)
		defer cancel()
		reqTime := time.Now()
		resp, err := bq.fetch(out.WithContext(ctx), true)
		if err != nil {
			return
		}
		defer resp.Body.Close()
		respTime := time.Now()
		if resp.StatusCode == http.StatusNotModified && conditional {
			ne, _ := bq.refresh(ri, e, resp, reqTime, respTime)
			stored = ne != nil
			return
		}
		if resp.StatusCode >= 500 {
			return
		}
		m, ok := bq.meta(ri, resp, reqTime, respTime)
		if !ok {
			return
		}
		w, err := p.zone.NewWriter(m, p.maxBody)
		if err != nil {
			return
		}
		if _, err := io.Copy(w, resp.Body); err != nil {
			w.Abort()
			return
		}
		ne, _ := w.Commit()
		stored = ne != nil
	})
	if !ok {
		p.zone.Release(q.key, f, false)
	}
}

// fromEntry answers from a stored entry; it reports false when the
// object is gone.
func (q *request) fromEntry(e *cache.Entry, status string, now time.Time) (*http.Response, bool) {
	return q.p.answer(q.c, e, status, now)
}

// ageValues are the Age field values of the first hour, allocated once.
var ageValues = func() [][]string {
	out := make([][]string, 3600)
	for i := range out {
		out[i] = []string{strconv.Itoa(i)}
	}
	return out
}()

func ageValue(d time.Duration) []string {
	if s := int(d / time.Second); s >= 0 && s < len(ageValues) {
		return ageValues[s]
	}
	return []string{httpcache.AgeSeconds(d)}
}

// answer serves a stored entry: client conditionals (304), HEAD, a
// single byte range (206/416), Age and the cache status.
func (p *cacher) answer(c *plugin.Ctx, e *cache.Entry, status string, now time.Time) (*http.Response, bool) {
	obj, err := p.zone.Open(e)
	if err != nil {
		return nil, false
	}
	h := obj.Header
	if obj.Shared {
		h = maps.Clone(h)
	}
	h["Age"] = ageValue(e.Age(now))
	h[statusHeader] = statusValues[status]
	p.zone.Count(status)
	if p.hide {
		delete(h, "Cache-Control")
		delete(h, "Expires")
	}
	r := c.Req
	if (r.Header["If-None-Match"] != nil || r.Header["If-Modified-Since"] != nil) && httpcache.NotModified(r.Method, r.Header, h) {
		obj.Close()
		httpcache.NotModifiedHeader(h)
		return &http.Response{StatusCode: http.StatusNotModified, Header: h, Body: http.NoBody}, true
	}
	if r.Method == http.MethodHead {
		obj.Close()
		return &http.Response{StatusCode: int(e.Status), Header: h, Body: http.NoBody, ContentLength: obj.Size}, true
	}
	if e.Status == http.StatusOK && r.Header["Range"] != nil {
		switch kind, start, n := httpcache.Range(r.Header, h, obj.Size); kind {
		case httpcache.RangeOK:
			h["Content-Range"] = []string{httpcache.ContentRange(start, n, obj.Size)}
			h["Content-Length"] = []string{strconv.FormatInt(n, 10)}
			return &http.Response{StatusCode: http.StatusPartialContent, Header: h, Body: obj.Body(start, n), ContentLength: n}, true
		case httpcache.RangeUnsatisfiable:
			obj.Close()
			h["Content-Range"] = []string{httpcache.Unsatisfied(obj.Size)}
			h["Content-Length"] = []string{"0"}
			return &http.Response{StatusCode: http.StatusRequestedRangeNotSatisfiable, Header: h, Body: http.NoBody}, true
		}
	}
	return &http.Response{StatusCode: int(e.Status), Header: h, Body: obj.Body(0, obj.Size), ContentLength: obj.Size}, true
}

// tee stores the body the client reads; the flight is released when the
// body ends (stored) or is abandoned (not stored).
type tee struct {
	src  io.ReadCloser
	w    *cache.Writer
	done func(stored bool)
	q    *request // whose fill it is (passIfTooLarge)
}

func (t *tee) Read(p []byte) (int, error) {
	n, err := t.src.Read(p)
	if n > 0 && t.w != nil {
		if _, werr := t.w.Write(p[:n]); werr != nil {
			t.w = nil // too large or a disk error: stop storing, keep serving
			t.q.passIfTooLarge(werr)
			t.done(false)
		}
	}
	if err == io.EOF && t.w != nil {
		e, cerr := t.w.Commit()
		t.w = nil
		t.done(e != nil && cerr == nil)
	}
	return n, err
}

func (t *tee) Close() error {
	if t.w != nil {
		t.w.Abort()
		t.w = nil
		t.done(false)
	}
	return t.src.Close()
}
