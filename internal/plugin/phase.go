package plugin

import (
	"io"
	"log/slog"
	"net/http"
	"sort"
	"time"

	"github.com/stargate-edge/stargate/internal/proxy/upstream"
)

// Vars resolves request variables (the vars.Vars of the request).
type Vars interface {
	Var(name string) (string, bool)
}

// Filter decides whether a plugin runs for a request (`_meta.filter`, a
// compiled vars expression).
type Filter interface{ Match(v Vars) bool }

// Consumer is an authenticated client: a consumer object merged with its
// consumer group, as auth plugins find it.
type Consumer struct {
	Username string
	// Org owns the consumer ("" for the platform); auth plugins only find
	// consumers of the route's own organization.
	Org     string
	GroupID string
	// CredentialID is set when the consumer was found through a credential.
	CredentialID string
	Labels       map[string]string
	// Plugins are the consumer's non-auth plugin configs merged over its
	// group's (consumer wins), to be merged over the route's.
	Plugins map[string]any
	// Auth holds each auth plugin's config for this consumer (key-auth's
	// {"key":...}, jwt-auth's {"key","secret",...}).
	Auth map[string]map[string]any
	// Chain is Plugins compiled.
	Chain *Chain
}

// Consumers finds consumers by an auth plugin's identity attribute
// (key-auth key, basic-auth username, jwt-auth key, hmac-auth key_id).
type Consumers interface {
	Lookup(plugin, identity string) (*Consumer, bool)
	// ByName finds a consumer by username (anonymous_consumer).
	ByName(username string) (*Consumer, bool)
}

// Ctx is one request as plugins see it. The proxy owns it; plugins read
// and change the request in rewrite/access, and may end the request early
// with Exit.
type Ctx struct {
	Req       *http.Request
	RouteID   string
	ServiceID string
	// Consumer is set by an auth plugin.
	Consumer  *Consumer
	Consumers Consumers
	Vars      Vars
	Start     time.Time
	// RequestHeadLength is the size in bytes of the request line and
	// header block as received (HTTP/1.1), 0 when unknown (HTTP/2): with
	// the body's, nginx's $request_length.
	RequestHeadLength int64
	// Worker is the index of the event loop serving the request's
	// connection, from 0 (APISIX's ngx.worker.id()), or -1 when none
	// does (the TLS port, HTTP/2): for state kept per loop, which its
	// CPU alone writes.
	Worker int

	// RespHeader is sent with the response: rewrite/access plugins may add
	// to it, and Exit answers with it. After the header filter phase it is
	// the answer's header as sent; when no plugin has that phase (or a body
	// filter, or answers itself: Chain.Passthrough), it stays what the
	// plugins added, and the upstream's fields go out without a map.
	RespHeader http.Header

	// Upstream, when a plugin sets it (traffic-split), replaces the route's
	// upstream for this request. Upstreams resolves upstream objects by id
	// in the request's snapshot.
	Upstream  *upstream.Upstream
	Upstreams UpstreamResolver

	// MatchedURI and MatchedHost are the route's uri and host patterns
	// that matched ("/api/*", "*.example.com"); empty without a route.
	MatchedURI  string
	MatchedHost string

	// Filled in by the proxy for the log phase.
	Status       int
	BytesSent    int64
	UpstreamAddr string
	Latency      time.Duration
	// UpstreamLatency is the time from sending the request upstream to
	// its response headers (nginx's upstream_response_time).
	UpstreamLatency time.Duration
	// UpstreamStatus is the upstream's status; 0 when none answered.
	UpstreamStatus int

	values         map[any]any
	statusOverride int

	exited        bool
	exitStatus    int
	exitBody      []byte
	errorResponse []byte // the running plugin's _meta.error_response
}

// UpstreamResolver finds upstream objects by id; the request's snapshot
// is one (an interface, not a func field, so setting it per request
// allocates nothing).
type UpstreamResolver interface {
	Upstream(id string) (*upstream.Upstream, bool)
}

// Value returns what a plugin stored for this request under key.
func (c *Ctx) Value(key any) any { return c.values[key] }

// SetValue stores per-request plugin state (use an unexported key type).
func (c *Ctx) SetValue(key, v any) {
	if c.values == nil {
		c.values = map[any]any{}
	}
	c.values[key] = v
}

// VarSetter is implemented by the request's Vars: real-ip replaces
// remote_addr (and what later plugins and the upstream see).
type VarSetter interface{ SetVar(name, value string) }

// SetVar overrides a request variable for the rest of the request.
func (c *Ctx) SetVar(name, value string) {
	if s, ok := c.Vars.(VarSetter); ok {
		s.SetVar(name, value)
	}
}

// Exit ends the request with this status and body; no later plugin of the
// phase runs and the upstream is not called. A plugin's
// `_meta.error_response` replaces the body; a nil body is nginx's page for
// the status (text/html), as when an APISIX plugin returns only a code.
func (c *Ctx) Exit(status int, body []byte) {
	if c.errorResponse != nil && status >= 400 {
		body = c.errorResponse
	} else if body == nil {
		if body = ErrorPage(status); body != nil {
			c.RespHeader.Set("Content-Type", "text/html; charset=utf-8")
		}
	}
	c.exited, c.exitStatus, c.exitBody = true, status, body
}

// SetStatus replaces the status sent to the client (response-rewrite's
// status_code); header filters call it.
func (c *Ctx) SetStatus(status int) { c.statusOverride = status }

// StatusOverride is the status a header filter set, 0 when none.
func (c *Ctx) StatusOverride() int { return c.statusOverride }

// Exited reports whether a plugin ended the request, and with what.
func (c *Ctx) Exited() (bool, int, []byte) { return c.exited, c.exitStatus, c.exitBody }

// The phases a plugin instance may implement (DESIGN §5). An instance
// implements only the ones it needs.
type (
	Rewriter interface{ Rewrite(c *Ctx) }
	Accessor interface{ Access(c *Ctx) }
	// HeaderFilterer sees the upstream's (or Exit's) status and headers
	// before they are sent, and may change them.
	HeaderFilterer interface {
		HeaderFilter(c *Ctx, status int, h http.Header)
	}
	// BodyFilterer wraps the response body writer (after the header
	// filter): compressors, body rewriters. Close flushes what it holds.
	// It returns nil to leave the body alone.
	BodyFilterer interface {
		WrapBody(c *Ctx, status int, h http.Header, w io.Writer) io.WriteCloser
	}
	// Compressor marks a BodyFilterer that encodes the body (gzip,
	// brotli): compressors run last, nearest the client, whatever their
	// priority, so other filters see the body unencoded (as nginx orders
	// its gzip filter).
	Compressor interface {
		BodyFilterer
		Compresses()
	}
	// Flusher is implemented by body filter writers that can push out
	// what they hold (for streamed answers: SSE through gzip).
	Flusher   interface{ Flush() error }
	LogPhaser interface{ Log(c *Ctx) }
	// Responder produces the answer in place of the plain upstream call
	// (the cache, DESIGN §5 "cache lookup"): it runs after the access
	// phase, and answers by itself or through origin, which it may call
	// more than once (revalidation) or after the answer was sent
	// (background refresh). The response it returns goes through the
	// header and body filters like an upstream's; the proxy closes its
	// Body. An error answers as an upstream failure would (502, or 504 on
	// a timeout). Only the first Responder runs: global rules' before the
	// route's, then by priority.
	Responder interface {
		Respond(c *Ctx, origin Origin) (*http.Response, error)
	}
	// InlineResponder is a Responder that can answer some requests
	// without waiting for anything (a fresh cache hit). On the listener's
	// event loop the proxy asks RespondInline first, which must not wait;
	// when it reports false, Respond runs off the loop (server.Offload) and
	// may wait for the origin or for other requests. Such a plugin may be
	// declared Inline when its other phases never wait.
	InlineResponder interface {
		Responder
		RespondInline(c *Ctx) (*http.Response, bool)
	}
)

// Origin is the request's upstream as a Responder reaches it.
type Origin interface {
	// Fetch sends req to the upstream with the proxy's balancing, retries
	// and timeouts, and returns the upstream's response with hop-by-hop
	// headers removed, before any filter. req is c.Req or a copy of it
	// that the Responder changed (method, headers, context); its body, if
	// any, is the client's. A background fetch (one that may outlive the
	// request) must pass background: it records nothing in the Ctx, sends
	// no request body and does not end with the client's connection.
	// Errors are *UpstreamError.
	Fetch(req *http.Request, background bool) (*http.Response, error)
}

// UpstreamError is a failed Fetch: no upstream answered.
type UpstreamError struct {
	// Timeout: the upstream did not answer in time (504).
	Timeout bool
	// ClientGone: the client went away while waiting (499, nothing sent).
	ClientGone bool
	Err        error
}

func (e *UpstreamError) Error() string { return "upstream: " + e.Err.Error() }
func (e *UpstreamError) Unwrap() error { return e.Err }

// Factory builds a runtime instance from a configuration that passed
// Validate; it runs at snapshot compile time, never per request.
type Factory func(conf map[string]any) (any, error)

// Env is what a plugin may need at compile time besides its config.
type Env struct {
	// Key names the object the plugin is configured on ("routes/1",
	// "services/2", "global_rules", "consumers/jack"): plugins with state
	// that must survive config swaps (rate-limit counters) key it by this
	// plus their config.
	Key string
	// Upstreams compiles inline upstreams (traffic-split).
	Upstreams *upstream.Manager
	// Logger is for plugins with background work.
	Logger *slog.Logger
}

// EnvFactory is Factory for plugins that need an Env.
type EnvFactory func(conf map[string]any, env Env) (any, error)

// Instance is one configured plugin in a chain.
type Instance struct {
	Name     string
	Priority int
	Impl     any
	// Filter, when set, must match for the plugin to run.
	Filter Filter
	// ErrorResponse replaces the body of the plugin's rejections.
	ErrorResponse []byte
	// Transient is the plugin's Definition.Transient.
	Transient bool
	// Inline is the plugin's Definition.Inline.
	Inline bool
}

// Chain is a compiled, ordered plugin list.
type Chain struct {
	Instances []Instance
	Names     []string
	// retains: some instance is not Transient (see Definition).
	retains bool
	// blocks: some instance is not Inline.
	blocks bool
	// answers: some instance filters the answer's header or body, or
	// answers itself (see Passthrough).
	answers bool
}

// emptyChain is shared by every route without plugins (most of them):
// chains are never modified once built.
var emptyChain = &Chain{}

// NewChain orders instances by priority, higher first.
func NewChain(ins []Instance) *Chain {
	if len(ins) == 0 {
		return emptyChain
	}
	sort.SliceStable(ins, func(i, j int) bool {
		if ins[i].Priority != ins[j].Priority {
			return ins[i].Priority > ins[j].Priority
		}
		return ins[i].Name < ins[j].Name
	})
	c := &Chain{Instances: ins}
	for _, in := range ins {
		c.Names = append(c.Names, in.Name)
		if !in.Transient {
			c.retains = true
		}
		if !in.Inline {
			c.blocks = true
		}
		switch in.Impl.(type) {
		case HeaderFilterer, BodyFilterer, Responder:
			c.answers = true
		}
	}
	return c
}

// Passthrough reports whether no plugin of the chain filters the answer's
// header or body or answers itself, so that the upstream's answer goes to
// the client as it came, with the fields plugins put in Ctx.RespHeader
// (the proxy then never builds a header map for it); an empty chain
// does. A plugin that needs the answer's fields in its log phase reads
// them in a header filter, as http-logger does.
func (ch *Chain) Passthrough() bool { return ch == nil || !ch.answers }

// Transient reports whether every plugin of the chain keeps nothing of a
// request after its phases (Definition.Transient); an empty chain is.
func (ch *Chain) Transient() bool { return ch == nil || !ch.retains }

// Inline reports whether no plugin of the chain may wait (Definition.Inline);
// an empty chain does not.
func (ch *Chain) Inline() bool { return ch == nil || !ch.blocks }

// Len is the number of plugins.
func (ch *Chain) Len() int {
	if ch == nil {
		return 0
	}
	return len(ch.Instances)
}

func (in *Instance) runs(c *Ctx) bool {
	if in.Filter != nil && !in.Filter.Match(c.Vars) {
		return false
	}
	c.errorResponse = in.ErrorResponse
	return true
}

// Rewrite runs the rewrite phase; it reports whether a plugin exited.
func (ch *Chain) Rewrite(c *Ctx) bool { return ch.RewriteOnly(c, nil) }

// RewriteOnly runs the rewrite phase of the plugins named in only (all
// when nil): after an auth plugin found a consumer, the consumer's added
// plugins get their rewrite phase too.
func (ch *Chain) RewriteOnly(c *Ctx, only map[string]bool) bool {
	if ch == nil {
		return false
	}
	for i := range ch.Instances {
		in := &ch.Instances[i]
		p, ok := in.Impl.(Rewriter)
		if !ok || (only != nil && !only[in.Name]) || !in.runs(c) {
			continue
		}
		p.Rewrite(c)
		if c.exited {
			return true
		}
	}
	c.errorResponse = nil
	return false
}

// Access runs the access phase; it reports whether a plugin exited.
func (ch *Chain) Access(c *Ctx) bool {
	if ch == nil {
		return false
	}
	for i := range ch.Instances {
		in := &ch.Instances[i]
		p, ok := in.Impl.(Accessor)
		if !ok || !in.runs(c) {
			continue
		}
		p.Access(c)
		if c.exited {
			return true
		}
	}
	c.errorResponse = nil
	return false
}

// HeaderFilter runs the header filter phase.
func (ch *Chain) HeaderFilter(c *Ctx, status int, h http.Header) {
	if ch == nil {
		return
	}
	for i := range ch.Instances {
		in := &ch.Instances[i]
		if p, ok := in.Impl.(HeaderFilterer); ok && in.runs(c) {
			p.HeaderFilter(c, status, h)
		}
	}
}

// WrapBody stacks the body filters: the first plugin's output is written
// through the next one's, ending at w. It returns w itself (and a no-op
// close) when no plugin filters the body, without allocating.
func (ch *Chain) WrapBody(c *Ctx, status int, h http.Header, w io.Writer) (io.Writer, func() error) {
	var closers []io.WriteCloser
	if ch != nil {
		for i := len(ch.Instances) - 1; i >= 0; i-- {
			in := &ch.Instances[i]
			if p, ok := in.Impl.(BodyFilterer); ok && in.runs(c) {
				if wc := p.WrapBody(c, status, h, w); wc != nil {
					closers = append(closers, wc)
					w = wc
				}
			}
		}
	}
	if len(closers) == 0 {
		return w, noClose
	}
	return w, func() error {
		var first error
		// Outermost first: each Close flushes into the next writer.
		for i := len(closers) - 1; i >= 0; i-- {
			if err := closers[i].Close(); err != nil && first == nil {
				first = err
			}
		}
		return first
	}
}

func noClose() error { return nil }

// Responder returns the chain's first Responder that runs for c, or nil.
func (ch *Chain) Responder(c *Ctx) Responder {
	if ch == nil {
		return nil
	}
	for i := range ch.Instances {
		in := &ch.Instances[i]
		if p, ok := in.Impl.(Responder); ok && in.runs(c) {
			c.errorResponse = nil
			return p
		}
	}
	c.errorResponse = nil
	return nil
}

// filtered is the outermost body filter writer; Flush pushes every
// filter's held data towards the client, outermost first.
type filtered struct {
	io.Writer
	all []io.WriteCloser // innermost first
}

// Flush implements Flusher.
func (f *filtered) Flush() error {
	for i := len(f.all) - 1; i >= 0; i-- {
		if fl, ok := f.all[i].(Flusher); ok {
			if err := fl.Flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// Log runs the log phase.
func (ch *Chain) Log(c *Ctx) {
	if ch == nil {
		return
	}
	for i := range ch.Instances {
		in := &ch.Instances[i]
		if p, ok := in.Impl.(LogPhaser); ok && in.runs(c) {
			p.Log(c)
		}
	}
}

// Merge returns a chain with over's plugins replacing base's of the same
// name and adding the others (consumer > route precedence).
func Merge(base, over *Chain) *Chain {
	if over.Len() == 0 {
		return base
	}
	byName := map[string]Instance{}
	for _, in := range base.Instances {
		byName[in.Name] = in
	}
	for _, in := range over.Instances {
		byName[in.Name] = in
	}
	out := make([]Instance, 0, len(byName))
	for _, in := range byName {
		out = append(out, in)
	}
	return NewChain(out)
}
