package upstream

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type nodeView struct {
	Host       string
	Port       int
	Weight     int
	Priority   int
	Addr       string
	HostHeader string
}

func views(nodes []*Node) []nodeView {
	out := make([]nodeView, len(nodes))
	for i, n := range nodes {
		out[i] = nodeView{n.Host, n.Port, n.Weight, n.Priority, n.Addr, n.HostHeader}
	}
	return out
}

func TestCompileNodes(t *testing.T) {
	tests := []struct {
		desc string
		conf string
		want []nodeView
	}{
		{
			desc: "map form, sorted, explicit ports",
			conf: `{"nodes":{"127.0.0.2:8080":2,"127.0.0.1:80":1}}`,
			want: []nodeView{
				{"127.0.0.1", 80, 1, 0, "127.0.0.1:80", "127.0.0.1"},
				{"127.0.0.2", 8080, 2, 0, "127.0.0.2:8080", "127.0.0.2:8080"},
			},
		},
		{
			desc: "map form, default port http",
			conf: `{"nodes":{"example.com":1}}`,
			want: []nodeView{{"example.com", 80, 1, 0, "example.com:80", "example.com"}},
		},
		{
			desc: "map form, default port https",
			conf: `{"scheme":"https","nodes":{"example.com":1}}`,
			want: []nodeView{{"example.com", 443, 1, 0, "example.com:443", "example.com"}},
		},
		{
			desc: "map form, default port grpc and grpcs",
			conf: `{"scheme":"grpcs","nodes":{"a.test":1,"b.test:80":1}}`,
			want: []nodeView{
				{"a.test", 443, 1, 0, "a.test:443", "a.test"},
				{"b.test", 80, 1, 0, "b.test:80", "b.test:80"},
			},
		},
		{
			desc: "map form IPv6 with and without port",
			conf: `{"nodes":{"[::1]:8080":1,"[fe80::1]":3}}`,
			want: []nodeView{
				{"::1", 8080, 1, 0, "[::1]:8080", "[::1]:8080"},
				{"fe80::1", 80, 3, 0, "[fe80::1]:80", "[fe80::1]"},
			},
		},
		{
			desc: "map form bare IPv6",
			conf: `{"nodes":{"::1":1}}`,
			want: []nodeView{{"::1", 80, 1, 0, "[::1]:80", "[::1]"}},
		},
		{
			desc: "array form keeps order, priority, default port",
			conf: `{"nodes":[{"host":"b.test","port":81,"weight":1,"priority":-1},{"host":"a.test","weight":5,"priority":2,"metadata":{"k":"v"}}]}`,
			want: []nodeView{
				{"b.test", 81, 1, -1, "b.test:81", "b.test:81"},
				{"a.test", 80, 5, 2, "a.test:80", "a.test"},
			},
		},
		{
			desc: "array form IPv6, bracketed or not",
			conf: `{"nodes":[{"host":"::1","port":9000,"weight":1},{"host":"[::2]","weight":1}]}`,
			want: []nodeView{
				{"::1", 9000, 1, 0, "[::1]:9000", "[::1]:9000"},
				{"::2", 80, 1, 0, "[::2]:80", "[::2]"},
			},
		},
		{
			desc: "float64 numbers",
			conf: `{"nodes":[{"host":"a.test","port":81,"weight":2}]}`,
			want: []nodeView{{"a.test", 81, 2, 0, "a.test:81", "a.test:81"}},
		},
		{
			desc: "empty nodes",
			conf: `{"nodes":[]}`,
			want: []nodeView{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			m := newTestManager(t)
			u := mustCompile(t, m, "upstreams/1", decode(t, tc.conf))
			if diff := cmp.Diff(tc.want, views(u.Nodes())); diff != "" {
				t.Errorf("nodes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCompileFloat64Input(t *testing.T) {
	// encoding/json without UseNumber gives float64
	m := newTestManager(t)
	u := mustCompile(t, m, "k", map[string]any{
		"nodes":   []any{map[string]any{"host": "a.test", "port": float64(81), "weight": float64(2)}},
		"retries": float64(3),
		"timeout": map[string]any{"connect": 0.5, "send": float64(2), "read": float64(3)},
	})
	if u.Nodes()[0].Port != 81 || u.Retries != 3 || u.Timeout.Connect != 500*time.Millisecond {
		t.Errorf("got port %d retries %d timeout %+v", u.Nodes()[0].Port, u.Retries, u.Timeout)
	}
}

func TestCompileDefaults(t *testing.T) {
	tests := []struct {
		desc string
		conf string
		want func(u *Upstream) string // "" when fine
	}{
		{"type, scheme, pass_host, hash_on", `{"nodes":{"a:1":1}}`, func(u *Upstream) string {
			if u.Type != "roundrobin" || u.Scheme != "http" || u.PassHost != "pass" || u.HashOn != "vars" {
				return "got " + u.Type + " " + u.Scheme + " " + u.PassHost + " " + u.HashOn
			}
			return ""
		}},
		{"timeouts 60s", `{"nodes":{"a:1":1}}`, func(u *Upstream) string {
			if u.Timeout != (Timeouts{60 * time.Second, 60 * time.Second, 60 * time.Second}) {
				return "timeouts wrong"
			}
			return ""
		}},
		{"timeouts given", `{"nodes":{"a:1":1},"timeout":{"connect":1.5,"send":2,"read":3}}`, func(u *Upstream) string {
			if u.Timeout != (Timeouts{1500 * time.Millisecond, 2 * time.Second, 3 * time.Second}) {
				return "timeouts wrong"
			}
			return ""
		}},
		{"retries default is nodes-1", `{"nodes":{"a:1":1,"b:1":1,"c:1":1}}`, func(u *Upstream) string {
			if u.Retries != 2 {
				return "retries wrong"
			}
			return ""
		}},
		{"retries default with one node", `{"nodes":{"a:1":1}}`, func(u *Upstream) string {
			if u.Retries != 0 {
				return "retries wrong"
			}
			return ""
		}},
		{"retries default with no node", `{"nodes":{}}`, func(u *Upstream) string {
			if u.Retries != 0 {
				return "retries wrong"
			}
			return ""
		}},
		{"retries 0 is off", `{"nodes":{"a:1":1,"b:1":1},"retries":0,"retry_timeout":1.5}`, func(u *Upstream) string {
			if u.Retries != 0 || u.RetryTimeout != 1500*time.Millisecond {
				return "retries wrong"
			}
			return ""
		}},
		{"keepalive default", `{"nodes":{"a:1":1}}`, func(u *Upstream) string {
			if u.Keepalive != (KeepalivePool{320, 60 * time.Second, 1000}) {
				return "keepalive wrong"
			}
			return ""
		}},
		{"keepalive partial", `{"nodes":{"a:1":1},"keepalive_pool":{"size":8}}`, func(u *Upstream) string {
			if u.Keepalive != (KeepalivePool{8, 60 * time.Second, 1000}) || u.Transport().MaxIdleConnsPerHost != 8 {
				return "keepalive wrong"
			}
			return ""
		}},
		{"pass_host rewrite", `{"nodes":{"a:1":1},"pass_host":"rewrite","upstream_host":"x.test"}`, func(u *Upstream) string {
			if u.PassHost != "rewrite" || u.UpstreamHost != "x.test" {
				return "pass_host wrong"
			}
			return ""
		}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			m := newTestManager(t)
			u := mustCompile(t, m, "k", decode(t, tc.conf))
			if msg := tc.want(u); msg != "" {
				t.Error(msg)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		desc string
		conf string
		want string
		is   error
	}{
		{"discovery", `{"service_name":"svc","discovery_type":"dns"}`, "service discovery is not supported yet", ErrDiscoveryUnsupported},
		{"unknown type", `{"type":"random","nodes":{"a:1":1}}`, "unknown balancer type", nil},
		{"chash without key", `{"type":"chash","nodes":{"a:1":1}}`, "missing key", nil},
		{"chash consumer needs no key", `{"type":"chash","hash_on":"consumer","nodes":{"a:1":1}}`, "", nil},
		{"rewrite without upstream_host", `{"pass_host":"rewrite","nodes":{"a:1":1}}`, "upstream_host", nil},
		{"bad port in key", `{"nodes":{"a:99999":1}}`, "invalid port", nil},
		{"bad port in key text", `{"nodes":{"a:x":1}}`, "invalid port", nil},
		{"tcp scheme needs port", `{"scheme":"tcp","nodes":{"a":1}}`, "port is required", nil},
		{"array node without host", `{"nodes":[{"weight":1}]}`, "missing host", nil},
		{"array node without weight", `{"nodes":[{"host":"a"}]}`, "missing weight", nil},
		{"fractional weight", `{"nodes":{"a:1":1.5}}`, "must be an integer", nil},
		{"negative weight", `{"nodes":{"a:1":-1}}`, "negative weight", nil},
		{"missing nodes", `{}`, "missing nodes", nil},
		{"client cert without key", `{"scheme":"https","nodes":{"a:1":1},"tls":{"client_cert":"x"}}`, "go together", nil},
		{"client cert id without resolver", `{"scheme":"https","nodes":{"a:1":1},"tls":{"client_cert_id":"1"}}`, "no certificate resolver", nil},
		{"bad client cert", `{"scheme":"https","nodes":{"a:1":1},"tls":{"client_cert":"x","client_key":"y"}}`, "tls.client_cert", nil},
		{"bad checks type", `{"nodes":{"a:1":1},"checks":{"active":{"type":"udp"}}}`, "checks.active.type", nil},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			m := newTestManager(t)
			_, err := m.Compile("k", decode(t, tc.conf))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "upstream: ") {
				t.Errorf("error %q does not say where it comes from", err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.is)
			}
		})
	}
}

func TestCompileAfterClose(t *testing.T) {
	m := NewManager(nil)
	m.Close()
	if _, err := m.Compile("k", decode(t, `{"nodes":{"a:1":1}}`)); !errors.Is(err, ErrClosed) {
		t.Fatalf("got %v, want ErrClosed", err)
	}
}

func TestParseTemplate(t *testing.T) {
	tests := []struct {
		in   string
		want []segment
	}{
		{"$host$uri", []segment{{"host", true}, {"uri", true}}},
		{"${host}-x$arg_a/", []segment{{"host", true}, {"-x", false}, {"arg_a", true}, {"/", false}}},
		{"a$", []segment{{"a$", false}}},
		{"$-", []segment{{"$-", false}}},
		{"${}", []segment{{"${}", false}}},
		{"plain", []segment{{"plain", false}}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got := parseTemplate(tc.in)
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(segment{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzSplitAddr(f *testing.F) {
	for _, s := range []string{"a:1", "[::1]:80", "::1", "[::1]", "a", "", "[", "[::1]x", "a:b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		host, port, err := splitAddr(s)
		if err == nil && (port < 0 || port > 65535 || host == "") {
			t.Fatalf("splitAddr(%q) = %q, %d", s, host, port)
		}
	})
}
