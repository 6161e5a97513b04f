package vars

import (
	"errors"
	"net/netip"
	"slices"
)

// Vars resolves request variables by name: "uri", "host", "remote_addr",
// "arg_foo", "http_x_api_key" (header, lowercase with _ for -), "cookie_x",
// "request_method", "scheme", "server_port", "request_uri", "query_string",
// "post_arg.x" etc. ok=false when unset.
type Vars interface {
	Var(name string) (string, bool)
}

// ListVars is implemented by a Vars that has list-valued variables, such as
// APISIX's graphql_root_fields. Only the "has" operator uses it; on a Vars
// without it, or for a name it reports as unset, "has" is false.
type ListVars interface {
	VarList(name string) ([]string, bool)
}

// MaxDepth is the deepest nesting of rules Compile accepts.
const MaxDepth = 64

// ErrInvalid matches (with errors.Is) every error Compile returns.
var ErrInvalid = errors.New("invalid vars expression")

// compileError is a Compile error. reason is worded like lua-resty-expr's.
type compileError struct{ reason string }

func (e *compileError) Error() string {
	return "failed to validate the 'vars' expression: " + e.reason
}

func (e *compileError) Is(target error) bool { return target == ErrInvalid }

// Expr is a compiled vars expression: immutable, safe for concurrent use.
// The zero value and a nil *Expr match everything.
type Expr struct {
	root  *node // nil: match everything
	names []string
}

// Compile takes the decoded JSON of a vars value ([]any with strings,
// json.Number or float64 numbers, bools, nested []any) — e.g.
// [["arg_name","==","json"],["http_x","~~","^a+$"]] or ["OR", [...], [...]]
// or [["!AND", ...]] — and checks it fully (operators, arity, regex compile,
// CIDR parse for ipmatch, "in"/"has" operand types). Errors are worded for
// the admin API (e.g. "failed to validate the 'vars' expression: invalid
// operator 'xx'") and match ErrInvalid; Compile never panics.
//
// Other Go slice and number types are accepted too, and so is a
// json.RawMessage or []byte holding the JSON text. A nil rule, an empty
// array and an empty object compile to an Expr that matches everything.
func Compile(raw any) (*Expr, error) {
	return compile(raw)
}

// Match evaluates against a request. A nil *Expr matches everything. A nil
// Vars has every variable unset.
func (e *Expr) Match(v Vars) bool {
	if e == nil || e.root == nil {
		return true
	}
	if v == nil {
		v = noVars{}
	}
	return e.root.eval(v)
}

// Names lists the variable names an expression reads (for
// documentation/debug), each once, in order of first use.
func (e *Expr) Names() []string {
	if e == nil {
		return nil
	}
	return slices.Clone(e.names)
}

type noVars struct{}

func (noVars) Var(string) (string, bool) { return "", false }

// op is a compiled comparison; the operand's type is folded into it.
type op uint8

const (
	opAnd    op = iota // children, all true
	opOr               // children, one true
	opEqStr            // var == str
	opNeStr            // var ~= str
	opEqNum            // tonumber(var) == num
	opNeNum            // tonumber(var) ~= num
	opEqNull           // var unset
	opNeNull           // var set
	opGt               // tonumber(var) > num
	opGe
	opLt
	opLe
	opRegex   // re finds a match in var
	opIn      // var in strs or tonumber(var) in nums
	opHas     // list var contains str (or a number equal to num)
	opIPMatch // var is an address inside one of prefixes
)

// node is one compiled rule or expression.
type node struct {
	op   op
	neg  bool   // "!AND"/"!OR", or the "!" of [var, "!", op, value]
	name string // variable
	str  string
	num  float64
	// hasNum: for opHas, the operand is a number.
	hasNum   bool
	re       *regex              // opRegex
	strs     []string            // opIn, small lists
	strSet   map[string]struct{} // opIn, large lists
	nums     []float64           // opIn
	prefixes []netip.Prefix      // opIPMatch
	kids     []node              // opAnd, opOr
}

func (n *node) eval(v Vars) bool {
	switch n.op {
	case opAnd:
		for i := range n.kids {
			if !n.kids[i].eval(v) {
				return n.neg
			}
		}
		return !n.neg
	case opOr:
		for i := range n.kids {
			if n.kids[i].eval(v) {
				return !n.neg
			}
		}
		return n.neg
	}
	return n.compare(v) != n.neg
}

// compare evaluates a leaf, before its "!".
func (n *node) compare(v Vars) bool {
	if n.op == opHas {
		return n.has(v)
	}
	s, ok := v.Var(n.name)
	switch n.op {
	case opEqStr:
		return ok && s == n.str
	case opNeStr:
		return !ok || s != n.str
	case opEqNull:
		return !ok
	case opNeNull:
		return ok
	case opRegex:
		return ok && n.re.match(s)
	case opIn:
		return ok && n.in(s)
	case opIPMatch:
		return ok && n.ipMatch(s)
	}
	// Numeric operators.
	var f float64
	if ok {
		f, ok = luaToNumber(s)
	}
	switch n.op {
	case opEqNum:
		return ok && f == n.num
	case opNeNum:
		return !ok || f != n.num
	case opGt:
		return ok && f > n.num
	case opGe:
		return ok && f >= n.num
	case opLt:
		return ok && f < n.num
	case opLe:
		return ok && f <= n.num
	}
	return false
}

func (n *node) in(s string) bool {
	if n.strSet != nil {
		if _, ok := n.strSet[s]; ok {
			return true
		}
	} else if slices.Contains(n.strs, s) {
		return true
	}
	if len(n.nums) == 0 {
		return false
	}
	f, ok := luaToNumber(s)
	return ok && slices.Contains(n.nums, f)
}

func (n *node) has(v Vars) bool {
	lv, ok := v.(ListVars)
	if !ok {
		return false
	}
	list, ok := lv.VarList(n.name)
	if !ok {
		return false
	}
	for _, s := range list {
		if n.hasNum {
			if f, ok := luaToNumber(s); ok && f == n.num {
				return true
			}
		} else if s == n.str {
			return true
		}
	}
	return false
}

func (n *node) ipMatch(s string) bool {
	addr, ok := parseMatchAddr(s)
	if !ok {
		return false
	}
	for _, p := range n.prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// parseMatchAddr parses a variable's value for ipmatch as lua-resty-ipmatcher
// does: an IPv4 address, or an IPv6 address optionally in square brackets;
// no zone, no port. It does not allocate for a value that is plainly not an
// address.
func parseMatchAddr(s string) (netip.Addr, bool) {
	bracket := len(s) >= 2 && s[0] == '[' && s[len(s)-1] == ']'
	if bracket {
		s = s[1 : len(s)-1]
	}
	if len(s) == 0 || len(s) > 45 {
		return netip.Addr{}, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if _, hex := hexVal(c); !hex && c != '.' && c != ':' {
			return netip.Addr{}, false
		}
	}
	addr, err := netip.ParseAddr(s)
	if err != nil || (bracket && !addr.Is6()) {
		return netip.Addr{}, false
	}
	return addr, true
}
