package vars
import "testing"
func BenchmarkParts(b *testing.B) {
	for _, r := range []string{
		`[["http_user_agent","~*","chrome/[0-9]+"]]`,
		`[["http_user_agent","~~","Chrome/[0-9]+"]]`,
		`[["arg_env","in",["prod","staging","canary"]]]`,
		`[["arg_version",">=",2]]`,
		`[["remote_addr","ipmatch",["10.0.0.0/8","192.168.0.0/16","2001:db8::/32"]]]`,
		`[["cookie_session","~~","^[a-f0-9]{32}$"]]`,
	} {
		e := mustCompile(b, r)
		b.Run(r[3:20], func(b *testing.B) { for b.Loop() { e.Match(benchHit) } })
	}
}
