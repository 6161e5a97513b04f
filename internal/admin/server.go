package admin

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stargate-edge/stargate/internal/store"
	"github.com/stargate-edge/stargate/internal/tenant"
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
	// An error (not served in time) answers the write anyway, with an
	// X-Stargate-Warning saying the change is not served yet.
	Applied func(ctx context.Context, rev int64) error
	// Problem, when set, tells why the data plane left an object out
	// ("routes/1"), or "". Writes answer it in an X-Stargate-Warning
	// header, so a route that cannot be served does not fail silently.
	Problem func(key string) string
	// Accounts configures users, organizations and tenancy.
	Accounts AccountOptions
	// Caches gives the cache API this node's cache zones (nil on a node
	// without any: zones are then listed from CacheZones, without usage).
	Caches CacheService
}

// AccountOptions configures accounts (see internal/tenant).
type AccountOptions struct {
	// SignupEnabled opens POST /auth/signup, and lets users create
	// top-level organizations. Off by default: the operator creates users.
	SignupEnabled bool
	// SessionTTL is the lifetime of a login token (default 24h).
	SessionTTL time.Duration
	// Argon is the password hashing cost (default tenant.DefaultArgon).
	Argon tenant.ArgonParams
	// Login bounds failed logins (default tenant.DefaultLoginLimits).
	Login tenant.LoginLimits
	// AuditRetention and AuditMax bound the audit log (30 days, 100000).
	AuditRetention time.Duration
	AuditMax       int
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

	dir     *tenant.Directory
	owners  *tenant.Owners
	hosts   *tenant.Hosts
	audit   *tenant.Audit
	claimMu sync.Mutex
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
	s := &Server{opts: opts, st: opts.Store, log: opts.Logger, ring: opts.Keyring, conf: newConflictIndex()}
	s.newTenancy(opts.Accounts)
	return s
}

// Start loads the route index and the account model and follows the
// store until ctx ends.
func (s *Server) Start(ctx context.Context) error {
	if err := s.conf.start(ctx, s.st, s.log); err != nil {
		return err
	}
	return s.startTenancy(ctx)
}

// Sync waits until the writes the API does in the background (the audit
// log) are stored. Call it before closing the store.
func (s *Server) Sync(ctx context.Context) { s.audit.Flush(ctx) }

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
		h.Set("Access-Control-Allow-Headers", "Content-Type, X-API-KEY, Authorization, "+OrgHeader)
		h.Set("Access-Control-Max-Age", "3600")
		w.WriteHeader(http.StatusOK)
		return
	}
	if rest == "openapi.json" && r.Method == http.MethodGet {
		s.serveOpenAPI(w, r)
		return
	}
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
	}
	if public(rest) {
		// Login and signup need no key; they are audited by their handlers.
		p := &principal{addr: remoteIP(r)}
		if err := s.route(w, r.WithContext(withPrincipal(r.Context(), p)), rest); err != nil {
			s.renderError(w, r, err)
		}
		return
	}
	p, err := s.authenticate(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	r = r.WithContext(withPrincipal(r.Context(), p))
	if audited(r.Method, rest) {
		// A successful write is queued for the audit log as its answer
		// leaves; a refused request writes nothing, not even an entry.
		w = &statusRecorder{ResponseWriter: w, before: func(status int) {
			if status < 400 {
				s.recordAudit(r, p, rest, status)
			}
		}}
	}
	if err := s.route(w, r, rest); err != nil {
		s.renderError(w, r, err)
	}
}

// route dispatches on the path below the prefix.
func (s *Server) route(w http.ResponseWriter, r *http.Request, rest string) error {
	segs := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	if rest == "" {
		return errMsg(http.StatusNotFound, "not found")
	}
	switch segs[0] {
	case "auth":
		return s.serveAuth(w, r, segs[1:])
	case "me":
		return s.serveMe(w, r, segs[1:])
	case "users":
		return s.serveUsers(w, r, segs[1:])
	case "orgs":
		return s.serveOrgs(w, r, segs[1:])
	case "audit":
		return s.serveAudit(w, r, segs[1:])
	case "stats":
		return s.serveStats(w, r, segs[1:])
	case "owners":
		return s.serveOwners(w, r, segs[1:])
	case "hosts":
		return s.serveHosts(w, r, segs[1:])
	case "caches":
		return s.serveCaches(w, r, segs[1:])
	case "jobs":
		return s.serveJobs(w, r, segs[1:])
	case "dns":
		if err := s.scopeDNS(r, segs[1:]); err != nil {
			return err
		}
		return s.serveDNSOwned(w, r, segs[1:])
	case "debug":
		if err := needOperator(r.Context()); err != nil {
			return err
		}
		if len(segs) == 2 && segs[1] == "match" {
			return s.serveMatch(w, r)
		}
		return errMsg(http.StatusNotFound, "not found")
	case "plugins":
		if len(segs) == 2 && segs[1] == "reload" {
			if err := needOperator(r.Context()); err != nil {
				return err
			}
		}
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

// public reports whether a path needs no key.
func public(rest string) bool {
	rest = strings.TrimSuffix(rest, "/")
	return rest == "auth/login" || rest == "auth/signup"
}

// statusRecorder calls before with the status just before the header is
// sent.
type statusRecorder struct {
	http.ResponseWriter
	before func(status int)
	done   bool
}

func (w *statusRecorder) WriteHeader(code int) {
	if !w.done {
		w.done = true
		w.before(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}
