package traffic

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/stargate-edge/stargate/internal/plugin"
)

// Var resolves an APISIX variable for a request: the request's Vars first,
// then the ones APISIX keeps in its context (consumer_name,
// consumer_group_id, route_id, service_id).
func Var(c *plugin.Ctx, name string) (string, bool) {
	if c.Vars != nil {
		if v, ok := c.Vars.Var(name); ok {
			return v, true
		}
	}
	switch name {
	case "consumer_name":
		if c.Consumer != nil {
			return c.Consumer.Username, true
		}
	case "consumer_group_id":
		if c.Consumer != nil && c.Consumer.GroupID != "" {
			return c.Consumer.GroupID, true
		}
	case "route_id":
		if c.RouteID != "" {
			return c.RouteID, true
		}
	case "service_id":
		if c.ServiceID != "" {
			return c.ServiceID, true
		}
	}
	return "", false
}

// Template is a string with `$var` / `${var}` references, compiled once:
// APISIX's core.utils.resolve_var. A `$` preceded by a backslash is kept
// as written, like the rest of the text.
type Template struct {
	raw   string
	parts []part // nil when raw has no variable
}

type part struct {
	lit  string
	name string // a variable when not empty
}

func isWord(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// CompileTemplate parses s as resolve_var does with the pattern
// `(?<!\\)\$(\{(\w+)\}|(\w+))`.
func CompileTemplate(s string) Template {
	t := Template{raw: s}
	if !strings.Contains(s, "$") {
		return t
	}
	var parts []part
	lit := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || (i > 0 && s[i-1] == '\\') {
			continue
		}
		j := i + 1
		var name string
		end := -1
		if j < len(s) && s[j] == '{' {
			k := j + 1
			for k < len(s) && isWord(s[k]) {
				k++
			}
			if k > j+1 && k < len(s) && s[k] == '}' {
				name, end = s[j+1:k], k+1
			}
		}
		if end < 0 {
			k := j
			for k < len(s) && isWord(s[k]) {
				k++
			}
			if k > j {
				name, end = s[j:k], k
			}
		}
		if end < 0 {
			continue
		}
		if i > lit {
			parts = append(parts, part{lit: s[lit:i]})
		}
		parts = append(parts, part{name: name})
		lit = end
		i = end - 1
	}
	if parts == nil {
		return t
	}
	if lit < len(s) {
		parts = append(parts, part{lit: s[lit:]})
	}
	t.parts = parts
	return t
}

// Raw is the template as configured.
func (t *Template) Raw() string { return t.raw }

// Static reports whether the template has no variable.
func (t *Template) Static() bool { return t.parts == nil }

// Resolve substitutes the variables (an unset one becomes "") and returns
// how many were set, as resolve_var's n_resolved.
func (t *Template) Resolve(c *plugin.Ctx) (string, int) {
	if t.parts == nil {
		return t.raw, 0
	}
	// A lone variable needs no copy.
	if len(t.parts) == 1 {
		if v, ok := Var(c, t.parts[0].name); ok {
			return v, 1
		}
		return "", 0
	}
	var stack [128]byte
	buf := stack[:0]
	n := 0
	for i := range t.parts {
		p := &t.parts[i]
		if p.name == "" {
			buf = append(buf, p.lit...)
			continue
		}
		if v, ok := Var(c, p.name); ok {
			buf = append(buf, v...)
			n++
		}
	}
	return string(buf), n
}

// Key types of the limit plugins' key_type.
const (
	KeyVar = iota
	KeyVarCombination
	KeyConstant
)

// Key is a limit plugin's `key` with its `key_type`, compiled.
type Key struct {
	typ  int
	name string
	tpl  Template
}

// NewKey compiles key for key_type ("var" when empty).
func NewKey(keyType, key string) (Key, error) {
	k := Key{name: key}
	switch keyType {
	case "", "var":
		k.typ = KeyVar
	case "var_combination":
		k.typ = KeyVarCombination
		k.tpl = CompileTemplate(key)
	case "constant":
		k.typ = KeyConstant
	default:
		return k, fmt.Errorf("unknown key_type %q", keyType)
	}
	return k, nil
}

// ConstantKey is a key already resolved (the rules of limit plugins).
func ConstantKey(v string) Key { return Key{typ: KeyConstant, name: v} }

// Resolve returns the limit key of a request: the variable, the resolved
// combination (when at least one of its variables is set) or the constant;
// otherwise the client address, as APISIX falls back to remote_addr.
func (k *Key) Resolve(c *plugin.Ctx) string {
	switch k.typ {
	case KeyConstant:
		return k.name
	case KeyVarCombination:
		if v, n := k.tpl.Resolve(c); n > 0 {
			return v
		}
	default:
		if v, ok := Var(c, k.name); ok {
			return v
		}
	}
	v, _ := Var(c, "remote_addr")
	return v
}

// NumVar is a limit parameter that is either a number or a string
// resolved per request and converted with Lua's tonumber (APISIX's
// `count: "$http_x_count"`).
type NumVar struct {
	n     float64
	isVar bool
	tpl   Template
}

// ParseNumVar reads a json.Number (or Go number) or a string template.
func ParseNumVar(v any) (NumVar, error) {
	switch x := v.(type) {
	case string:
		return NumVar{isVar: true, tpl: CompileTemplate(x)}, nil
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return NumVar{}, err
		}
		return NumVar{n: f}, nil
	case float64:
		return NumVar{n: x}, nil
	case int:
		return NumVar{n: float64(x)}, nil
	case int64:
		return NumVar{n: float64(x)}, nil
	}
	return NumVar{}, fmt.Errorf("not a number or string: %T", v)
}

// IsVar reports whether the value depends on the request.
func (n *NumVar) IsVar() bool { return n.isVar }

// Raw is the configured value as text (for group keys).
func (n *NumVar) Raw() string {
	if n.isVar {
		return n.tpl.Raw()
	}
	return strconv.FormatFloat(n.n, 'g', -1, 64)
}

// Get returns the value for a request; ok=false when a string does not
// resolve to a number.
func (n *NumVar) Get(c *plugin.Ctx) (float64, bool) {
	if !n.isVar {
		return n.n, true
	}
	s, _ := n.tpl.Resolve(c)
	return LuaToNumber(s)
}

// LuaToNumber converts like Lua's tonumber on a string: surrounding space
// allowed, decimal or 0x hex.
func LuaToNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	neg := false
	h := s
	if h[0] == '-' || h[0] == '+' {
		neg, h = h[0] == '-', h[1:]
	}
	if len(h) > 2 && h[0] == '0' && (h[1] == 'x' || h[1] == 'X') {
		u, err := strconv.ParseUint(h[2:], 16, 64)
		if err != nil {
			return 0, false
		}
		f := float64(u)
		if neg {
			f = -f
		}
		return f, true
	}
	// ParseFloat also takes "inf", "nan", "1_000" and hex floats that Lua
	// refuses.
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '-' || c == '+') {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}
