package plugin

import (
	"net/http"
	"sort"
)

// Ctx is one request as plugins see it. The proxy owns it; plugins read
// and change the request in rewrite/access, and may end the request early
// with Exit.
type Ctx struct {
	Req       *http.Request
	RouteID   string
	ServiceID string
	// Consumer is set by an auth plugin.
	Consumer string
	// Vars resolves request variables (the vars.Vars of the request).
	Vars interface {
		Var(name string) (string, bool)
	}

	// RespHeader is sent with the response: header-filter plugins edit it,
	// and Exit answers with it.
	RespHeader http.Header

	exited     bool
	exitStatus int
	exitBody   []byte
}

// Exit ends the request with this status and body; no later plugin of the
// phase runs and the upstream is not called.
func (c *Ctx) Exit(status int, body []byte) {
	c.exited, c.exitStatus, c.exitBody = true, status, body
}

// Exited reports whether a plugin ended the request, and with what.
func (c *Ctx) Exited() (bool, int, []byte) { return c.exited, c.exitStatus, c.exitBody }

// The phases a plugin instance may implement (DESIGN §5). An instance
// implements only the ones it needs.
type (
	Rewriter interface{ Rewrite(c *Ctx) }
	Accessor interface{ Access(c *Ctx) }
	// HeaderFilterer sees the upstream's (or Exit's) status and headers
	// before they are sent.
	HeaderFilterer interface {
		HeaderFilter(c *Ctx, status int, h http.Header)
	}
	LogPhaser interface{ Log(c *Ctx, status int) }
)

// Factory builds a runtime instance from a configuration that passed
// Validate; it runs at snapshot compile time, never per request.
type Factory func(conf map[string]any) (any, error)

// Instance is one configured plugin in a chain.
type Instance struct {
	Name     string
	Priority int
	Impl     any
}

// Chain is a compiled, ordered plugin list with its phases precomputed.
type Chain struct {
	Rewrite      []Rewriter
	Access       []Accessor
	HeaderFilter []HeaderFilterer
	Log          []LogPhaser
	Names        []string
}

// NewChain orders instances by priority (higher first) and splits them by
// phase. A `_meta.priority` override has already been applied by the
// caller.
func NewChain(ins []Instance) *Chain {
	sort.SliceStable(ins, func(i, j int) bool { return ins[i].Priority > ins[j].Priority })
	c := &Chain{}
	for _, in := range ins {
		c.Names = append(c.Names, in.Name)
		if p, ok := in.Impl.(Rewriter); ok {
			c.Rewrite = append(c.Rewrite, p)
		}
		if p, ok := in.Impl.(Accessor); ok {
			c.Access = append(c.Access, p)
		}
		if p, ok := in.Impl.(HeaderFilterer); ok {
			c.HeaderFilter = append(c.HeaderFilter, p)
		}
		if p, ok := in.Impl.(LogPhaser); ok {
			c.Log = append(c.Log, p)
		}
	}
	return c
}
