package plugin_test

import (
	"fmt"
	"testing"

	"github.com/stargate-edge/stargate/internal/plugin"
	_ "github.com/stargate-edge/stargate/internal/plugin/standard"
	"github.com/stargate-edge/stargate/internal/schema"
)

func TestProbe(t *testing.T) {
	for _, c := range []struct{ p, j string }{
		{"limit-count", `{}`},
		{"limit-count", `{"count":1,"time_window":1,"rules":[{"count":1,"time_window":1,"key":"a"}]}`},
		{"limit-count", `{"count":1,"time_window":1,"policy":"redis"}`},
		{"limit-count", `{"count":0,"time_window":1}`},
		{"response-rewrite", `{"body":"a","filters":[{"regex":"a","replace":"b"}]}`},
		{"traffic-split", `{"foo":1}`},
		{"traffic-split", `{"rules":[{"weighted_upstreams":[{"upstream":{"nodes":{"a:1":1},"bad":1}}]}]}`},
		{"redirect", `{}`},
		{"redirect", `{"uri":"/a","http_to_https":true}`},
		{"ip-restriction", `{"whitelist":["abc"]}`},
		{"key-auth", `{"_meta":{"foo":1}}`},
		{"key-auth", `{"_meta":{"disable":1}}`},
		{"gzip", `{"http_version":2}`},
		{"gzip", `{"types":"x"}`},
		{"jwt-auth", `{"realm":"a\"b"}`},
		{"proxy-cache", `{"cache_key":["$1bad-"]}`},
		{"proxy-rewrite", `{}`},
		{"proxy-rewrite", `{"headers":{"add":{"a":"b"},"x":1}}`},
		{"consumer-restriction", `{}`},
		{"echo", `{}`},
		{"api-breaker", `{}`},
		{"cors", `{"allow_origins":"bad"}`},
		{"request-validation", `{"body_schema":{"type":"foo"}}`},
		{"limit-conn", `{"conn":1,"burst":0,"default_conn_delay":0.1,"key":"remote_addr","policy":"redis-cluster"}`},
	} {
		r, ok := plugin.Lookup(c.p)
		if !ok {
			t.Fatalf("no %s", c.p)
		}
		doc, err := schema.Decode([]byte(c.j))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("%-22s %-70s => %v\n", c.p, c.j, r.Validate(doc, plugin.SchemaRoute))
	}
	fmt.Println(len(plugin.All()))
}
