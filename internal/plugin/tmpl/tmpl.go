// Package tmpl compiles the $var / ${var} strings of mocking's
// response_example and response-rewrite's header values, which APISIX
// resolves with core.utils.resolve_var, once at configuration time, so a
// request only concatenates literals and variable values.
//
// Its reading of a reference is the loose `(?<!\\)\$\{?(\w+)\}?` those two
// plugins use (a stray "}" after a name is eaten, "${uri" is a reference);
// traffic.Template is the stricter one of the limit plugins' keys, which
// also counts the variables that were set.
package tmpl

import (
	"strings"

	"github.com/stargate-edge/stargate/internal/plugin"
)

// Template is a string with $var / ${var} references, resolved per request
// as APISIX's core.utils.resolve_var does: `(?<!\\)\$\{?(\w+)\}?` replaced by
// the variable's value ("" when unset). A "\$" is left as it is.
type Template struct {
	lits  []string // len(names)+1 literal pieces around the references
	names []string
}

// Compile parses s; every string is a valid template.
func Compile(s string) Template {
	t := Template{}
	if !strings.Contains(s, "$") {
		t.lits = []string{s}
		return t
	}
	var lit strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || (i > 0 && s[i-1] == '\\') {
			lit.WriteByte(s[i])
			continue
		}
		j := i + 1
		if j < len(s) && s[j] == '{' {
			j++
		}
		k := j
		for k < len(s) && isWord(s[k]) {
			k++
		}
		if k == j {
			lit.WriteByte(s[i])
			continue
		}
		name := s[j:k]
		if k < len(s) && s[k] == '}' {
			k++
		}
		t.lits = append(t.lits, lit.String())
		lit.Reset()
		t.names = append(t.names, name)
		i = k - 1
	}
	t.lits = append(t.lits, lit.String())
	return t
}

func isWord(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// Render substitutes the request's variables; with nil Vars every
// reference renders as "".
func (t Template) Render(v plugin.Vars) string {
	if len(t.names) == 0 {
		return t.lits[0]
	}
	var b strings.Builder
	for i, name := range t.names {
		b.WriteString(t.lits[i])
		if v != nil {
			val, _ := v.Var(name)
			b.WriteString(val)
		}
	}
	b.WriteString(t.lits[len(t.lits)-1])
	return b.String()
}
