package router

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	iradix "github.com/hashicorp/go-immutable-radix/v2"

	"github.com/stargate-edge/stargate/internal/vars"
)

// Method bits; 0 in Route.Methods means any method.
var methodBits = map[string]uint16{
	"GET": 1 << 0, "POST": 1 << 1, "PUT": 1 << 2, "DELETE": 1 << 3, "PATCH": 1 << 4,
	"HEAD": 1 << 5, "OPTIONS": 1 << 6, "CONNECT": 1 << 7, "TRACE": 1 << 8, "PURGE": 1 << 9,
}

// MethodBit returns the bit of an HTTP method, 0 for one routes cannot name.
func MethodBit(m string) uint16 { return methodBits[m] }

// Route is one compiled route as the router sees it.
type Route struct {
	ID       string
	Priority int
	Hosts    []string // lowercase; "*.foo.com" wildcards; empty = any host
	URIs     []string
	Methods  uint16
	Remote   []netip.Prefix
	Vars     *vars.Expr
	// Target is the caller's payload (the compiled route).
	Target any
}

// Request is what matching looks at.
type Request struct {
	Method string
	Host   string // lowercase, without port
	Path   string
	Remote netip.Addr
	Vars   vars.Vars
}

// Match is a successful match.
type Match struct {
	Route  *Route
	Params map[string]string // :param values, nil when none
	// URI and Host are the patterns that matched ("/a/*", "*.foo.com";
	// Host is "" for a host-less match).
	URI, Host string
}

// uriKind tells how one uri of a route matches.
type uriKind int

const (
	exact uriKind = iota
	prefix
	param
)

// entry is one (route, uri) pair in a table.
type entry struct {
	route *Route
	uri   string // as configured
	kind  uriKind
	key   string   // exact path, prefix, or the static head of a param path
	segs  []string // param paths, split on "/"
}

// table holds the routes of one host (or of no host).
type table struct {
	exact  *exactMap
	prefix *iradix.Tree[[]*entry]
	params *iradix.Tree[[]*entry] // keyed by the static head before the first ':'
}

func newTable() *table {
	return &table{exact: emptyExact, prefix: iradix.New[[]*entry](), params: iradix.New[[]*entry]()}
}

func (t *table) empty() bool {
	return t.exact.Len() == 0 && t.prefix.Len() == 0 && t.params.Len() == 0
}

// Router is an immutable route table.
type Router struct {
	exactHosts *iradix.Tree[*table] // "api.example.com"
	wildHosts  *iradix.Tree[*table] // reversed suffix: "*.foo.com" -> "moc.oof."
	anyHost    *table
	// ids finds a route by id for With. It is one plain map handed from
	// each router to the next one With makes (a persistent tree here
	// was a third of the router's objects at 100k routes, all of them
	// scanned by every garbage collection); owner says which router it
	// currently describes, and With on any other one rebuilds it.
	ids   *idIndex
	count int
}

type idIndex struct {
	owner *Router
	m     map[string]*Route
}

// New returns an empty router.
func New() *Router {
	r := &Router{exactHosts: iradix.New[*table](), wildHosts: iradix.New[*table](), anyHost: newTable()}
	r.ids = &idIndex{owner: r, m: map[string]*Route{}}
	return r
}

// Len is the number of routes.
func (r *Router) Len() int { return r.count }

// Build makes a router from scratch.
func Build(routes []*Route) (*Router, error) {
	return New().With(routes, nil)
}

// With returns a new router with the given routes added or replaced (by
// ID) and the ids in remove removed. r is not modified and stays safe to
// match on. The cost is proportional to the change when r is the newest
// router of its line (the loader's case); extending an older one first
// re-indexes its routes. With must not run concurrently with itself.
func (r *Router) With(upsert []*Route, remove []string) (*Router, error) {
	for _, rt := range upsert {
		if err := validate(rt); err != nil {
			return nil, err
		}
	}
	n := &Router{exactHosts: r.exactHosts, wildHosts: r.wildHosts, anyHost: r.anyHost, count: r.count}
	ids := r.ids
	if ids == nil || ids.owner != r {
		ids = &idIndex{m: r.routesByID()}
	}
	b := &builder{r: n, tables: map[string]*tableTxn{}}
	for _, id := range remove {
		if old, ok := ids.m[id]; ok {
			b.remove(old)
			delete(ids.m, id)
			n.count--
		}
	}
	for _, rt := range upsert {
		if old, ok := ids.m[rt.ID]; ok {
			b.remove(old)
			n.count--
		}
		b.add(rt)
		ids.m[rt.ID] = rt
		n.count++
	}
	b.commit()
	ids.owner = n
	n.ids = ids
	return n, nil
}

// routesByID collects r's routes from its tables.
func (r *Router) routesByID() map[string]*Route {
	m := make(map[string]*Route, r.count)
	collect := func(t *table) {
		t.exact.walk(func(_ string, es []*entry) {
			for _, e := range es {
				m[e.route.ID] = e.route
			}
		})
		for _, tr := range []*iradix.Tree[[]*entry]{t.prefix, t.params} {
			tr.Root().Walk(func(_ []byte, es []*entry) bool {
				for _, e := range es {
					m[e.route.ID] = e.route
				}
				return false
			})
		}
	}
	collect(r.anyHost)
	for _, hosts := range []*iradix.Tree[*table]{r.exactHosts, r.wildHosts} {
		hosts.Root().Walk(func(_ []byte, t *table) bool {
			collect(t)
			return false
		})
	}
	return m
}

func validate(rt *Route) error {
	if rt.ID == "" {
		return fmt.Errorf("router: route without id")
	}
	if len(rt.URIs) == 0 {
		return fmt.Errorf("router: route %s has no uri", rt.ID)
	}
	for _, u := range rt.URIs {
		if !strings.HasPrefix(u, "/") && u != "*" {
			return fmt.Errorf("router: route %s: uri %q must start with /", rt.ID, u)
		}
	}
	return nil
}

// tableTxn batches the edits of one table.
type tableTxn struct {
	hostKey string // "" for anyHost, "=host" exact, "~rev" wildcard
	exact   *exactTxn
	prefix  radixTxn
	params  radixTxn
}

// entryTxn is an edit batch on one kind of path table.
type entryTxn interface {
	get(key string) ([]*entry, bool)
	insert(key string, es []*entry)
	del(key string)
}

// radixTxn edits a radix tree (prefix and param paths, which need
// longest-prefix walks).
type radixTxn struct{ *iradix.Txn[[]*entry] }

func (t radixTxn) get(k string) ([]*entry, bool) { return t.Get([]byte(k)) }
func (t radixTxn) insert(k string, es []*entry)  { t.Insert([]byte(k), es) }
func (t radixTxn) del(k string)                  { t.Delete([]byte(k)) }

type builder struct {
	r      *Router
	tables map[string]*tableTxn
	hosts  *iradix.Txn[*table]
	wilds  *iradix.Txn[*table]
}

func hostKeys(rt *Route) []string {
	if len(rt.Hosts) == 0 {
		return []string{""}
	}
	out := make([]string, 0, len(rt.Hosts))
	for _, h := range rt.Hosts {
		if h == "*" {
			out = append(out, "~")
		} else if rest, ok := strings.CutPrefix(h, "*"); ok {
			out = append(out, "~"+reverse(rest))
		} else {
			out = append(out, "="+h)
		}
	}
	return out
}

func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

func (b *builder) table(key string) *tableTxn {
	if t, ok := b.tables[key]; ok {
		return t
	}
	var cur *table
	switch {
	case key == "":
		cur = b.r.anyHost
	case key[0] == '=':
		cur, _ = b.r.exactHosts.Get([]byte(key[1:]))
	default:
		cur, _ = b.r.wildHosts.Get([]byte(key[1:]))
	}
	if cur == nil {
		cur = newTable()
	}
	t := &tableTxn{hostKey: key, exact: cur.exact.txn(), prefix: radixTxn{cur.prefix.Txn()}, params: radixTxn{cur.params.Txn()}}
	b.tables[key] = t
	return t
}

func entriesOf(rt *Route) []*entry {
	out := make([]*entry, 0, len(rt.URIs))
	for _, u := range rt.URIs {
		e := &entry{route: rt, uri: u}
		switch {
		case u == "*":
			e.kind, e.key = prefix, "/"
		case strings.HasSuffix(u, "*"):
			e.kind, e.key = prefix, strings.TrimSuffix(u, "*")
		case strings.Contains(u, "/:"):
			e.kind = param
			e.key = u[:strings.Index(u, "/:")+1]
			e.segs = strings.Split(u, "/")
		default:
			e.kind, e.key = exact, u
		}
		out = append(out, e)
	}
	return out
}

func (t *tableTxn) tree(k uriKind) entryTxn {
	switch k {
	case prefix:
		return t.prefix
	case param:
		return t.params
	}
	return t.exact
}

func (b *builder) add(rt *Route) {
	for _, hk := range hostKeys(rt) {
		t := b.table(hk)
		for _, e := range entriesOf(rt) {
			tr := t.tree(e.kind)
			cur, _ := tr.get(e.key)
			next := make([]*entry, 0, len(cur)+1)
			next = append(next, cur...)
			next = append(next, e)
			sortEntries(next)
			tr.insert(e.key, next)
		}
	}
}

func (b *builder) remove(rt *Route) {
	for _, hk := range hostKeys(rt) {
		t := b.table(hk)
		for _, e := range entriesOf(rt) {
			tr := t.tree(e.kind)
			cur, ok := tr.get(e.key)
			if !ok {
				continue
			}
			next := make([]*entry, 0, len(cur))
			for _, c := range cur {
				if c.route.ID != rt.ID {
					next = append(next, c)
				}
			}
			if len(next) == 0 {
				tr.del(e.key)
			} else {
				tr.insert(e.key, next)
			}
		}
	}
}

// sortEntries orders one path's entries: higher priority first, then id
// for a stable, documented tie-break.
func sortEntries(es []*entry) {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].route.Priority != es[j].route.Priority {
			return es[i].route.Priority > es[j].route.Priority
		}
		return es[i].route.ID < es[j].route.ID
	})
}

func (b *builder) commit() {
	var hosts, wilds *iradix.Txn[*table]
	for key, t := range b.tables {
		tb := &table{exact: t.exact.commit(), prefix: t.prefix.Commit(), params: t.params.Commit()}
		switch {
		case key == "":
			b.r.anyHost = tb
		case key[0] == '=':
			if hosts == nil {
				hosts = b.r.exactHosts.Txn()
			}
			if tb.empty() {
				hosts.Delete([]byte(key[1:]))
			} else {
				hosts.Insert([]byte(key[1:]), tb)
			}
		default:
			if wilds == nil {
				wilds = b.r.wildHosts.Txn()
			}
			if tb.empty() {
				wilds.Delete([]byte(key[1:]))
			} else {
				wilds.Insert([]byte(key[1:]), tb)
			}
		}
	}
	if hosts != nil {
		b.r.exactHosts = hosts.Commit()
	}
	if wilds != nil {
		b.r.wildHosts = wilds.Commit()
	}
}

// Match finds the route for a request, or ok=false.
func (r *Router) Match(req *Request) (Match, bool) {
	if req.Host != "" {
		if t, ok := r.exactHosts.Root().Get([]byte(req.Host)); ok {
			if m, ok := t.match(req); ok {
				m.Host = req.Host
				return m, true
			}
		}
		if r.wildHosts.Len() > 0 {
			// Longest wildcard suffix first: collect the keys that are
			// prefixes of the reversed host, then try them backwards.
			var found [8]*table
			var keys [8][]byte
			n := 0
			rev := reverse(req.Host)
			r.wildHosts.Root().WalkPath([]byte(rev), func(k []byte, t *table) bool {
				// "*.foo.com" is stored as "moc.oof.": the dot keeps
				// foo.com itself out.
				if n < len(found) {
					found[n], keys[n] = t, k
					n++
				}
				return false
			})
			for i := n - 1; i >= 0; i-- {
				if m, ok := found[i].match(req); ok {
					m.Host = "*" + reverse(string(keys[i]))
					return m, true
				}
			}
		}
	}
	return r.anyHost.match(req)
}

func (t *table) match(req *Request) (Match, bool) {
	path := req.Path
	if es, ok := t.exact.get(path); ok {
		for _, e := range es {
			if e.route.check(req) {
				return Match{Route: e.route, URI: e.uri}, true
			}
		}
	}
	if t.params.Len() > 0 {
		var m Match
		matched := false
		t.params.Root().WalkPath([]byte(path), func(_ []byte, es []*entry) bool {
			for _, e := range es {
				if params, ok := matchParams(e.segs, path); ok && e.route.check(req) {
					m, matched = Match{Route: e.route, Params: params, URI: e.uri}, true
					return true
				}
			}
			return false
		})
		if matched {
			return m, true
		}
	}
	if t.prefix.Len() > 0 {
		var found [16][]*entry
		n := 0
		t.prefix.Root().WalkPath([]byte(path), func(_ []byte, es []*entry) bool {
			if n < len(found) {
				found[n] = es
				n++
			} else {
				copy(found[:], found[1:])
				found[len(found)-1] = es
			}
			return false
		})
		for i := n - 1; i >= 0; i-- {
			for _, e := range found[i] {
				if e.route.check(req) {
					return Match{Route: e.route, URI: e.uri}, true
				}
			}
		}
	}
	return Match{}, false
}

// matchParams matches "/user/:id/x" against a path segment by segment.
func matchParams(segs []string, path string) (map[string]string, bool) {
	var params map[string]string
	rest := path
	for i, s := range segs {
		if i == 0 {
			if !strings.HasPrefix(rest, "/") {
				return nil, false
			}
			rest = rest[1:]
			continue
		}
		seg, tail, more := strings.Cut(rest, "/")
		if name, ok := strings.CutPrefix(s, ":"); ok {
			if seg == "" {
				return nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[name] = seg
		} else if s != seg {
			return nil, false
		}
		if i == len(segs)-1 {
			return params, !more
		}
		if !more {
			return nil, false
		}
		rest = tail
	}
	return params, rest == ""
}

// check applies the non-path conditions of a route.
func (rt *Route) check(req *Request) bool {
	if rt.Methods != 0 && rt.Methods&methodBits[req.Method] == 0 {
		return false
	}
	if len(rt.Remote) > 0 {
		ok := false
		for _, p := range rt.Remote {
			if p.Contains(req.Remote) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if rt.Vars != nil && !rt.Vars.Match(req.Vars) {
		return false
	}
	return true
}
