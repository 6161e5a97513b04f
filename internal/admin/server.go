package admin

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/stargate-edge/stargate/internal/store"
	"github.com/stargate-edge/stargate/internal/tlscert"
)

// Role of an admin key, as in APISIX's deployment.admin.admin_key.
type Role string

// Roles.
const (
	RoleAdmin  Role = "admin"
	RoleViewer Role = "viewer"
)

// Key is one admin API key.
type Key struct {
	Name string
	Key  string
	Role Role
}

// Options configures a Server.
type Options struct {
	Store store.Store
	Keys  []Key
	// KeyRequired false turns authentication off (APISIX's
	// admin_key_required: false); meant for loopback-only test setups.
	KeyRequired bool
	Keyring     *tlscert.Keyring
	Logger      *slog.Logger
	Version     string
	// MaxBodyBytes caps request bodies (APISIX: 1.5 MiB).
	MaxBodyBytes int64
	// CacheZones names the configured cache zones and their kinds
	// ("memory" | "disk"), for proxy-cache checks.
	CacheZones map[string]string
	// Matcher answers /debug/match from the compiled configuration; nil
	// disables the endpoint.
	Matcher Matcher
	// Applied, when set, is called after every successful write with its
	// store revision and delays the answer until it returns: in one
	// process it waits for the local data plane to serve that revision,
	// so the request after the admin API's answer already sees the change.
	Applied func(ctx context.Context, rev int64)
}

// Matcher tells which route would serve a request, with its merged
// configuration (a JSON-ready value).
type Matcher interface {
	Match(method, host, uri, remoteAddr string) (any, bool)
}

// Server is the admin API.
type Server struct {
	opts  Options
	st    store.Store
	log   *slog.Logger
	ring  *tlscert.Keyring
	conf  *conflictIndex
	ready atomic.Bool
}

// Prefixes the API is served under; both behave identically.
var Prefixes = []string{"/api/stargate/v1", "/apisix/admin"}

// New builds a Server. Call Start to begin following the store.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1536 * 1024
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	return &Server{opts: opts, st: opts.Store, log: opts.Logger, ring: opts.Keyring, conf: newConflictIndex()}
}

// Start loads the route index and follows the store until ctx ends.
func (s *Server) Start(ctx context.Context) error {
	return s.conf.start(ctx, s.st, s.log)
}

// Handler returns the API handler. Mount it at "/" of the admin listener
// (it answers only under Prefixes and passes nothing else through).
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(s.serveHTTP)
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Server", "Stargate/"+s.opts.Version)
	h.Set("X-API-VERSION", "v3")
	h.Set("Access-Control-Allow-Origin", "*")

	var rest string
	matched := false
	for _, p := range Prefixes {
		if r.URL.Path == p || r.URL.Path == p+"/" {
			rest, matched = "", true
			break
		}
		if strings.HasPrefix(r.URL.Path, p+"/") {
			rest, matched = strings.TrimPrefix(r.URL.Path, p+"/"), true
			break
		}
	}
	if !matched {
		s.renderError(w, r, errMsg(http.StatusNotFound, "not found"))
		return
	}
	// HEAD on the root is APISIX's liveness probe: no key needed.
	if rest == "" && r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	if r.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Methods", "GET, PUT, POST, PATCH, DELETE, OPTIONS, HEAD")
		h.Set("Access-Control-Allow-Headers", "Content-Type, X-API-KEY, Authorization")
		h.Set("Access-Control-Max-Age", "3600")
		w.WriteHeader(http.StatusOK)
		return
	}
	if rest == "openapi.json" && r.Method == http.MethodGet {
		s.serveOpenAPI(w, r)
		return
	}
	if err := s.authorize(r); err != nil {
		s.renderError(w, r, err)
		return
	}
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
	}
	if err := s.route(w, r, rest); err != nil {
		s.renderError(w, r, err)
	}
}

// authorize checks the key from query api_key, then header X-API-KEY, then
// cookie x_api_key, as APISIX does. Viewers may only read.
func (s *Server) authorize(r *http.Request) error {
	if !s.opts.KeyRequired {
		return nil
	}
	tok := r.URL.Query().Get("api_key")
	if tok == "" {
		tok = r.Header.Get("X-API-KEY")
	}
	if tok == "" {
		if c, err := r.Cookie("x_api_key"); err == nil {
			tok = c.Value
		}
	}
	fail := func(desc string) error {
		return &apiError{status: http.StatusUnauthorized, body: map[string]any{"error_msg": "failed to check token", "description": desc}}
	}
	if tok == "" {
		return fail("missing apikey")
	}
	var found *Key
	for i := range s.opts.Keys {
		k := &s.opts.Keys[i]
		if subtle.ConstantTimeCompare([]byte(k.Key), []byte(tok)) == 1 {
			found = k
		}
	}
	if found == nil {
		return fail("wrong apikey")
	}
	if found.Role == RoleViewer && r.Method != http.MethodGet && r.Method != http.MethodHead {
		return fail("invalid method for role viewer")
	}
	return nil
}

// route dispatches on the path below the prefix.
func (s *Server) route(w http.ResponseWriter, r *http.Request, rest string) error {
	segs := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	if rest == "" {
		return errMsg(http.StatusNotFound, "not found")
	}
	switch segs[0] {
	case "dns":
		return s.serveDNS(w, r, segs[1:])
	case "debug":
		if len(segs) == 2 && segs[1] == "match" {
			return s.serveMatch(w, r)
		}
		return errMsg(http.StatusNotFound, "not found")
	case "plugins":
		return s.servePlugins(w, r, segs[1:])
	case "schema":
		return s.serveSchema(w, r, segs[1:])
	case "configs":
		if len(segs) == 2 && segs[1] == "validate" {
			if r.Method != http.MethodPost {
				return errMsg(http.StatusMethodNotAllowed, "not supported `%s` method for configs", r.Method)
			}
			return s.serveConfigsValidate(w, r)
		}
		return errMsg(http.StatusNotFound, "not found")
	}
	return s.serveResource(w, r, segs)
}
