package redirect

import (
	"regexp"
	"strings"
	"testing"
)

func FuzzParseURI(f *testing.F) {
	for _, s := range []string{"/a/$uri?x=${arg_x}", `\$host/$`, "${", "$$a", `\\`, "https://$host$request_uri"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		segs := parseURI(s)
		var b strings.Builder
		for _, sg := range segs {
			if sg.isVar {
				if sg.name == "" {
					t.Fatalf("empty variable name in %q", s)
				}
				continue
			}
			b.WriteString(sg.lit)
		}
		if !strings.ContainsAny(s, `$\`) && b.String() != s {
			t.Fatalf("literal %q became %q", s, b.String())
		}
	})
}

func FuzzGoTemplate(f *testing.F) {
	for _, s := range []string{"/$1/${2}/$$", "${x}", "$", "${12", "$0$10"} {
		f.Add(s)
	}
	re := regexp.MustCompile(`^/(\w+)/(.*)`)
	f.Fuzz(func(t *testing.T, tpl string) {
		src := "/abc/def"
		_ = re.Expand(nil, goTemplate(tpl), []byte(src), re.FindSubmatchIndex([]byte(src)))
		if !strings.Contains(tpl, "$") && string(goTemplate(tpl)) != tpl {
			t.Fatalf("template %q changed", tpl)
		}
	})
}
