package upstream

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func benchUpstream(b *testing.B, typ string, nodes int, checks bool) *Upstream {
	b.Helper()
	var parts []string
	for i := range nodes {
		parts = append(parts, fmt.Sprintf(`{"host":"10.0.%d.%d","port":80,"weight":%d}`, i/250, i%250+1, 1+i%3))
	}
	extra := ""
	if checks {
		extra = `"checks":{"active":{"healthy":{"interval":3600},"unhealthy":{"interval":3600}},"passive":{}},`
	}
	m := NewManager(nil)
	b.Cleanup(m.Close)
	return mustCompile(b, m, "bench", conf(b, `{%s%s"nodes":[%s]}`, typeConf(typ), extra, strings.Join(parts, ",")))
}

// BenchmarkPick measures one Pick plus its Done, the per-attempt cost.
func BenchmarkPick(b *testing.B) {
	in := &input{vars: map[string]string{"uri": "/some/path/x", "remote_addr": "10.1.2.3"}}
	res := Result{Status: 200, Latency: 3 * time.Millisecond}
	for _, checks := range []bool{false, true} {
		for _, typ := range balancerTypes {
			name := typ + "/10nodes"
			if checks {
				name += "/checks"
			}
			b.Run(name, func(b *testing.B) {
				u := benchUpstream(b, typ, 10, checks)
				b.ReportAllocs()
				for b.Loop() {
					_, done, err := u.Pick(-1, in, nil)
					if err != nil {
						b.Fatal(err)
					}
					done(res)
				}
			})
		}
	}
}

// BenchmarkPickRetry measures a retry pick with two nodes already tried.
func BenchmarkPickRetry(b *testing.B) {
	in := &input{vars: map[string]string{"uri": "/some/path/x", "remote_addr": "10.1.2.3"}}
	for _, typ := range balancerTypes {
		b.Run(typ, func(b *testing.B) {
			u := benchUpstream(b, typ, 10, false)
			tried := []*Node{u.Nodes()[0], u.Nodes()[1]}
			b.ReportAllocs()
			for b.Loop() {
				_, done, err := u.Pick(-1, in, tried)
				if err != nil {
					b.Fatal(err)
				}
				done(Result{Status: 200})
			}
		})
	}
}

// BenchmarkPickParallel runs Pick+Done from all Ps on one upstream.
func BenchmarkPickParallel(b *testing.B) {
	for _, typ := range balancerTypes {
		b.Run(typ, func(b *testing.B) {
			u := benchUpstream(b, typ, 10, false)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				in := &input{vars: map[string]string{"uri": "/p", "remote_addr": "10.1.2.3"}}
				for pb.Next() {
					_, done, err := u.Pick(-1, in, nil)
					if err != nil {
						b.Error(err)
						return
					}
					done(Result{Status: 200, Latency: time.Millisecond})
				}
			})
		})
	}
}

// BenchmarkCompile measures compiling a 10-node chash upstream: "reuse"
// recompiles the same key (rings and state reused), "fresh" a new key.
func BenchmarkCompile(b *testing.B) {
	c := conf(b, `{"type":"chash","key":"uri","nodes":{"10.0.0.1:80":1,"10.0.0.2:80":1,"10.0.0.3:80":1,"10.0.0.4:80":1,"10.0.0.5:80":1,"10.0.0.6:80":1,"10.0.0.7:80":1,"10.0.0.8:80":1,"10.0.0.9:80":1,"10.0.0.10:80":1}}`)
	b.Run("reuse", func(b *testing.B) {
		m := NewManager(nil)
		b.Cleanup(m.Close)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.Compile("k", c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fresh", func(b *testing.B) {
		m := NewManager(nil)
		b.Cleanup(m.Close)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.Compile("k", c); err != nil {
				b.Fatal(err)
			}
			m.Retain(nil)
		}
	})
}
