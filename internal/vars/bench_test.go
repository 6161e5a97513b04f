package vars

import "testing"

// benchRule is a realistic route condition: a header regex, an "in" list,
// a numeric comparison, a CIDR list and a nested OR with a negation.
const benchRule = `[
	["http_user_agent","~*","chrome/[0-9]+"],
	["arg_env","in",["prod","staging","canary"]],
	["arg_version",">=",2],
	["remote_addr","ipmatch",["10.0.0.0/8","192.168.0.0/16","2001:db8::/32"]],
	["OR",
		["http_x_api_key","==","secret"],
		["AND",["cookie_session","~~","^[a-f0-9]{32}$"],["http_x_debug","!","==","1"]]
	]
]`

var (
	benchHit = mapVars{
		"http_user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		"arg_env":         "canary",
		"arg_version":     "3",
		"remote_addr":     "192.168.10.20",
		"cookie_session":  "0123456789abcdef0123456789abcdef",
	}
	benchMiss = mapVars{
		"http_user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		"arg_env":         "canary",
		"arg_version":     "3",
		"remote_addr":     "172.16.0.1",
	}
)

func BenchmarkMatch(b *testing.B) {
	e := mustCompile(b, benchRule)
	for _, bc := range []struct {
		name string
		vars mapVars
		want bool
	}{
		{"hit", benchHit, true},
		{"miss_late", benchMiss, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if e.Match(bc.vars) != bc.want {
				b.Fatalf("Match != %v", bc.want)
			}
			b.ReportAllocs()
			for b.Loop() {
				e.Match(bc.vars)
			}
		})
	}
	b.Run("simple_eq", func(b *testing.B) {
		e := mustCompile(b, `[["arg_name","==","json"]]`)
		v := mapVars{"arg_name": "json"}
		b.ReportAllocs()
		for b.Loop() {
			e.Match(v)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				e.Match(benchHit)
			}
		})
	})
}

func BenchmarkCompile(b *testing.B) {
	_, raw := decode(b, benchRule)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(raw); err != nil {
			b.Fatal(err)
		}
	}
}
