package admin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/stargate-edge/stargate/internal/cache"
	"github.com/stargate-edge/stargate/internal/jobs"
)

// The cache API (spec/cache.md): the zones, their entries, and purge and
// warm jobs. Zones live on the edges; this node's are reached through
// Options.Caches. Purges and warms are jobs in the store, run by every
// edge's job worker.
//
//	GET    /caches                 the zones: name, kind, size, used, entries
//	GET    /caches/{zone}          entries; page, page_size, pattern (RE2 on the key)
//	DELETE /caches/{zone}          purge job: {"pattern"} | {"urls"} | {"prefix"} | {"all": true}
//	POST   /caches/warmer          warm job: {"urls": [...]}

// CacheService gives the API the cache zones of this node.
type CacheService interface {
	Zones() []*cache.Zone
}

// CacheRegistry is the CacheService of package cache's process-wide
// registry (the zones cmd/stargate opened).
type CacheRegistry struct{}

// Zones implements CacheService.
func (CacheRegistry) Zones() []*cache.Zone { return cache.Zones() }

// Limits of the cache API.
const (
	maxJobURLs          = 2000
	defaultEntryPage    = 100
	maxEntryPage        = 1000
	cacheZoneNotFoundMs = "cache zone not found"
)

func zoneNotFound() *apiError {
	return &apiError{status: http.StatusNotFound, body: map[string]any{"message": cacheZoneNotFoundMs}}
}

// serveCaches answers /caches/...
func (s *Server) serveCaches(w http.ResponseWriter, r *http.Request, segs []string) error {
	if err := needOperator(r.Context()); err != nil {
		return err
	}
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	switch {
	case len(segs) == 0:
		if method != http.MethodGet {
			return errMsg(http.StatusMethodNotAllowed, "not supported `%s` method for caches", r.Method)
		}
		return s.cacheZones(w)
	case len(segs) > 1 || segs[0] == "":
		return errMsg(http.StatusNotFound, "not found")
	case segs[0] == "warmer":
		if method != http.MethodPost {
			return errMsg(http.StatusMethodNotAllowed, "not supported `%s` method for the cache warmer", r.Method)
		}
		return s.cacheWarm(w, r)
	}
	zone := segs[0]
	switch method {
	case http.MethodGet:
		return s.cacheEntries(w, r, zone)
	case http.MethodDelete:
		return s.cachePurge(w, r, zone)
	}
	return errMsg(http.StatusMethodNotAllowed, "not supported `%s` method for a cache zone", r.Method)
}

// localZone finds a zone this node holds.
func (s *Server) localZone(name string) (*cache.Zone, bool) {
	if s.opts.Caches == nil {
		return nil, false
	}
	for _, z := range s.opts.Caches.Zones() {
		if z.Name() == name {
			return z, true
		}
	}
	return nil, false
}

// zoneKnown: the zone is configured (or held here).
func (s *Server) zoneKnown(name string) bool {
	if _, ok := s.opts.CacheZones[name]; ok {
		return true
	}
	_, ok := s.localZone(name)
	return ok
}

type zoneJSON struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Size    int64  `json:"size,omitempty"`
	Used    *int64 `json:"used,omitempty"`
	Entries *int   `json:"entries,omitempty"`
}

func (s *Server) cacheZones(w http.ResponseWriter) error {
	out := []zoneJSON{}
	seen := map[string]bool{}
	if s.opts.Caches != nil {
		for _, z := range s.opts.Caches.Zones() {
			st := z.Stats()
			out = append(out, zoneJSON{Name: st.Name, Kind: st.Kind, Size: st.Size, Used: &st.Used, Entries: &st.Entries})
			seen[st.Name] = true
		}
	}
	// Zones configured but not held here (a control-only node): no usage.
	for name, kind := range s.opts.CacheZones {
		if !seen[name] {
			out = append(out, zoneJSON{Name: name, Kind: kind})
		}
	}
	sortZones(out)
	s.writeJSON(w, http.StatusOK, map[string]any{"total": len(out), "zones": out})
	return nil
}

func sortZones(z []zoneJSON) {
	for i := 1; i < len(z); i++ {
		for j := i; j > 0 && z[j].Name < z[j-1].Name; j-- {
			z[j], z[j-1] = z[j-1], z[j]
		}
	}
}

type entryJSON struct {
	Name      string `json:"name"`
	Size      int64  `json:"size"`
	URL       string `json:"url"`
	Method    string `json:"method"`
	Status    int    `json:"status"`
	StoredAt  string `json:"stored_at"`
	ExpiresAt string `json:"expires_at"`
	Variant   string `json:"variant,omitempty"`
}

func rfc3339ms(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339) }

// entryPaging reads page (from 1) and page_size (1..1000, default 100).
func entryPaging(q url.Values) (page, size int, err error) {
	page, size = 1, defaultEntryPage
	if v := q.Get("page"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 1 {
			return 0, 0, badRequest("page must be a positive integer")
		}
	}
	if v := q.Get("page_size"); v != "" {
		if size, err = strconv.Atoi(v); err != nil || size < 1 || size > maxEntryPage {
			return 0, 0, badRequest("page_size must be between 1 and %d", maxEntryPage)
		}
	}
	return page, size, nil
}

func (s *Server) cacheEntries(w http.ResponseWriter, r *http.Request, zone string) error {
	z, ok := s.localZone(zone)
	if !ok {
		if s.zoneKnown(zone) {
			return errMsg(http.StatusServiceUnavailable, "cache zone %s is not held by this node: its entries are on the edges", zone)
		}
		return zoneNotFound()
	}
	q := r.URL.Query()
	page, size, err := entryPaging(q)
	if err != nil {
		return err
	}
	var match func(*cache.Entry) bool
	if p := q.Get("pattern"); p != "" {
		m, err := cache.MatchKey(p)
		if err != nil {
			return badRequest("invalid pattern: %v", err)
		}
		match = m
	}
	all := z.Entries(match)
	out := make([]entryJSON, 0, size)
	for i := (page - 1) * size; i < len(all) && len(out) < size; i++ {
		e := all[i]
		ej := entryJSON{Name: e.Key(), Size: e.Size, URL: e.URL(), Method: e.Method(), Status: int(e.Status),
			StoredAt: rfc3339ms(e.StoredAt), ExpiresAt: rfc3339ms(e.ExpiresAt)}
		if v := e.Variant(); v != 0 {
			ej.Variant = fmt.Sprintf("%016x", v)
		}
		out = append(out, ej)
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"total": len(all), "entries": out})
	return nil
}

// decodeStrict decodes a JSON object body into v, refusing unknown fields.
func decodeStrict(r *http.Request, v any) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return badRequest("invalid request body: empty")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("invalid request body: %v", err)
	}
	if dec.More() {
		return badRequest("invalid request body: trailing data")
	}
	return nil
}

func (s *Server) cachePurge(w http.ResponseWriter, r *http.Request, zone string) error {
	if !s.zoneKnown(zone) {
		return zoneNotFound()
	}
	var body struct {
		Pattern *string  `json:"pattern"`
		URLs    []string `json:"urls"`
		Prefix  *string  `json:"prefix"`
		All     *bool    `json:"all"`
	}
	if err := decodeStrict(r, &body); err != nil {
		return err
	}
	req := jobs.Request{Zone: zone, URLs: body.URLs}
	forms := 0
	if body.Pattern != nil {
		if *body.Pattern == "" {
			return badRequest("pattern must not be empty")
		}
		req.Pattern = *body.Pattern
		forms++
	}
	if body.URLs != nil {
		if len(body.URLs) == 0 || len(body.URLs) > maxJobURLs {
			return badRequest("urls must hold 1 to %d URLs", maxJobURLs)
		}
		forms++
	}
	if body.Prefix != nil {
		if *body.Prefix == "" {
			return badRequest("prefix must not be empty")
		}
		req.Prefix = *body.Prefix
		forms++
	}
	if body.All != nil {
		if !*body.All {
			return badRequest(`"all" must be true`)
		}
		req.All = true
		forms++
	}
	if forms != 1 {
		return badRequest(`want exactly one of {"pattern": REGEX}, {"urls": [...]}, {"prefix": URL_PREFIX}, {"all": true}`)
	}
	if _, err := jobs.Matcher(req); err != nil {
		return badRequest("%v", err)
	}
	j, err := jobs.Create(r.Context(), s.st, jobs.TypePurge, req)
	if err != nil {
		return storeError(err)
	}
	s.writeJSON(w, http.StatusAccepted, map[string]any{"jobId": j.ID, "message": "Cache purge job started."})
	return nil
}

func (s *Server) cacheWarm(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		URLs []string `json:"urls"`
	}
	if err := decodeStrict(r, &body); err != nil {
		return err
	}
	if len(body.URLs) == 0 || len(body.URLs) > maxJobURLs {
		return badRequest("urls must hold 1 to %d URLs", maxJobURLs)
	}
	for _, raw := range body.URLs {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return badRequest("invalid url %q: want an absolute http(s) URL", raw)
		}
	}
	j, err := jobs.Create(r.Context(), s.st, jobs.TypeWarm, jobs.Request{URLs: body.URLs})
	if err != nil {
		return storeError(err)
	}
	s.writeJSON(w, http.StatusAccepted, map[string]any{"jobId": j.ID, "message": "Cache warming job started."})
	return nil
}
