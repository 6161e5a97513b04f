package tmpl

import (
	"strings"
	"testing"
)

type mapVars map[string]string

func (m mapVars) Var(name string) (string, bool) {
	v, ok := m[name]
	return v, ok
}

func TestTmpl(t *testing.T) {
	v := mapVars{"uri": "/p", "a_1": "A"}
	for in, want := range map[string]string{
		"plain":           "plain",
		"$uri":            "/p",
		"${uri}x":         "/px",
		"$uri}":           "/p", // resolve_var's `\}?` eats a stray brace
		"${uri":           "/p",
		"$a_1-$nope!":     "A-!",
		`\$uri`:           `\$uri`,
		"$ and $-":        "$ and $-",
		"cost: $$uri end": "cost: $/p end",
	} {
		if got := Compile(in).Render(v); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func FuzzTmpl(f *testing.F) {
	for _, s := range []string{"$uri", "${", `\$`, "$}", "a$b$c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Compile(s).Render(mapVars{})
		if !strings.Contains(s, "$") && got != s {
			t.Fatalf("%q rendered %q", s, got)
		}
	})
}
