package plugin_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/plugin/jwtauth"
	_ "github.com/stargate-edge/stargate/internal/plugin/standard"
	"github.com/stargate-edge/stargate/internal/schema"
)

// apisix is the standard set as Apache APISIX 3.x declares it in
// apisix/plugins/*.lua: priority, type and whether the plugin also exists
// in the stream subsystem (apisix/stream/plugins/).
var apisix = map[string]struct {
	priority int
	typ      string
	stream   bool
}{
	"real-ip":              {priority: 23000},
	"client-control":       {priority: 22000},
	"request-id":           {priority: 12015},
	"fault-injection":      {priority: 11000},
	"mocking":              {priority: 10900},
	"cors":                 {priority: 4000},
	"ip-restriction":       {priority: 3000, stream: true},
	"ua-restriction":       {priority: 2999},
	"referer-restriction":  {priority: 2990},
	"request-validation":   {priority: 2800},
	"uri-blocker":          {priority: 2900},
	"hmac-auth":            {priority: 2530, typ: "auth"},
	"basic-auth":           {priority: 2520, typ: "auth"},
	"jwt-auth":             {priority: 2510, typ: "auth"},
	"key-auth":             {priority: 2500, typ: "auth"},
	"consumer-restriction": {priority: 2400},
	"forward-auth":         {priority: 2002},
	"proxy-cache":          {priority: 1085},
	"proxy-mirror":         {priority: 1010},
	"proxy-rewrite":        {priority: 1008},
	"api-breaker":          {priority: 1005},
	"limit-conn":           {priority: 1003, stream: true},
	"limit-count":          {priority: 1002},
	"limit-req":            {priority: 1001},
	"brotli":               {priority: 996},
	"gzip":                 {priority: 995},
	"traffic-split":        {priority: 966},
	"redirect":             {priority: 900},
	"response-rewrite":     {priority: 899},
	"prometheus":           {priority: 500, stream: true},
	"echo":                 {priority: 412},
	"http-logger":          {priority: 410},
}

func TestStandardSetMatchesAPISIX(t *testing.T) {
	got := map[string]bool{}
	for _, r := range plugin.All() {
		got[r.Name] = true
		want, ok := apisix[r.Name]
		if !ok {
			t.Errorf("%s: registered, but not an APISIX plugin of the standard set", r.Name)
			continue
		}
		if r.Priority != want.priority {
			t.Errorf("%s: priority %d, APISIX has %d", r.Name, r.Priority, want.priority)
		}
		if r.Type != want.typ {
			t.Errorf("%s: type %q, APISIX has %q", r.Name, r.Type, want.typ)
		}
		if r.Stream != want.stream {
			t.Errorf("%s: stream %v, APISIX has %v", r.Name, r.Stream, want.stream)
		}
		if r.Scope != "" {
			t.Errorf("%s: scope %q; no plugin of the standard set is global-only", r.Name, r.Scope)
		}
		if r.Version == "" {
			t.Errorf("%s: no version", r.Name)
		}
	}
	for name := range apisix {
		if !got[name] {
			t.Errorf("%s: not registered", name)
		}
	}
}

// Every plugin of the standard set has a runtime, so /plugins/list lists
// exactly what the data plane implements; grpc-transcode (which needs
// protobuf compilation) is not linked in and so not accepted either.
func TestStandardSetImplemented(t *testing.T) {
	for _, r := range plugin.All() {
		if r.New == nil && r.NewEnv == nil {
			t.Errorf("%s: registered without a runtime", r.Name)
		}
	}
	if _, ok := plugin.Lookup("grpc-transcode"); ok {
		t.Error("grpc-transcode is registered")
	}
}

func TestPrioritiesUnique(t *testing.T) {
	seen := map[int]string{}
	for _, r := range plugin.All() {
		if other, dup := seen[r.Priority]; dup {
			t.Errorf("priority %d used by both %s and %s", r.Priority, other, r.Name)
		}
		seen[r.Priority] = r.Name
	}
}

func TestAllInPriorityOrder(t *testing.T) {
	all := plugin.All()
	for i := 1; i < len(all); i++ {
		if all[i-1].Priority < all[i].Priority {
			t.Errorf("%s (%d) listed before %s (%d)", all[i-1].Name, all[i-1].Priority,
				all[i].Name, all[i].Priority)
		}
	}
}

func TestSchemas(t *testing.T) {
	for _, r := range plugin.All() {
		t.Run(r.Name, func(t *testing.T) {
			s := r.Schema(plugin.SchemaRoute)
			if s == nil {
				t.Fatal("no route schema")
			}
			var doc struct {
				Type       string                     `json:"type"`
				Properties map[string]json.RawMessage `json:"properties"`
			}
			if err := json.Unmarshal(s.Raw(), &doc); err != nil {
				t.Fatalf("schema is not JSON: %v", err)
			}
			if doc.Type != "object" {
				t.Errorf("schema type %q, want object", doc.Type)
			}
			if _, ok := doc.Properties["_meta"]; !ok {
				t.Error("schema lacks the injected _meta property")
			}
			// Auth plugins, and only they, have a consumer schema.
			if hasConsumer := r.Schema(plugin.SchemaConsumer) != nil; hasConsumer != (r.Type == "auth") {
				t.Errorf("consumer schema present = %v, type %q", hasConsumer, r.Type)
			}
			// An empty configuration is either valid or refused with a
			// message, never a panic.
			_ = r.Validate(map[string]any{}, plugin.SchemaRoute)
		})
	}
}

func TestMetadataSchemas(t *testing.T) {
	want := map[string]bool{"cors": true, "http-logger": true, "limit-count": true}
	for _, r := range plugin.All() {
		if got := r.Schema(plugin.SchemaMetadata) != nil; got != want[r.Name] {
			t.Errorf("%s: metadata schema present = %v, want %v", r.Name, got, want[r.Name])
		}
	}
}

type validateCase struct {
	desc   string
	plugin string
	typ    plugin.SchemaType
	conf   string
	// want is the exact error message ("" for valid); wantPrefix is used
	// instead where the tail comes from a library (regex engine, schema
	// compiler) and is not APISIX's wording.
	want       string
	wantPrefix string
}

const (
	route    = plugin.SchemaRoute
	consumer = plugin.SchemaConsumer
	metadata = plugin.SchemaMetadata
)

var validateCases = []validateCase{
	// key-auth
	{desc: "empty", plugin: "key-auth", conf: `{}`},
	{desc: "full", plugin: "key-auth", conf: `{"header":"X-Key","query":"k","hide_credentials":true,"anonymous_consumer":"anon","_meta":{"disable":false}}`},
	{desc: "wrong type", plugin: "key-auth", conf: `{"header":1}`, want: `property "header" validation failed: wrong type: expected string, got number`},
	{desc: "empty anonymous consumer", plugin: "key-auth", conf: `{"anonymous_consumer":""}`, want: `property "anonymous_consumer" validation failed: string too short, expected at least 1, got 0`},
	{desc: "bad _meta", plugin: "key-auth", conf: `{"_meta":{"disable":"yes"}}`, want: `property "_meta" validation failed: property "disable" validation failed: wrong type: expected boolean, got string`},
	{desc: "consumer", plugin: "key-auth", typ: consumer, conf: `{"key":"secret"}`},
	{desc: "consumer missing key", plugin: "key-auth", typ: consumer, conf: `{}`, want: `property "key" is required`},
	{desc: "consumer wrong type", plugin: "key-auth", typ: consumer, conf: `{"key":1}`, want: `property "key" validation failed: wrong type: expected string, got number`},

	// basic-auth
	{desc: "valid", plugin: "basic-auth", conf: `{"hide_credentials":true}`},
	{desc: "wrong type", plugin: "basic-auth", conf: `{"hide_credentials":"yes"}`, want: `property "hide_credentials" validation failed: wrong type: expected boolean, got string`},
	{desc: "consumer", plugin: "basic-auth", typ: consumer, conf: `{"username":"foo","password":"bar"}`},
	{desc: "consumer missing password", plugin: "basic-auth", typ: consumer, conf: `{"username":"foo"}`, want: `property "password" is required`},

	// jwt-auth
	{desc: "valid", plugin: "jwt-auth", conf: `{"header":"Authorization","claims_to_verify":["exp"]}`},
	{desc: "bad claim", plugin: "jwt-auth", conf: `{"claims_to_verify":["iat"]}`, want: `property "claims_to_verify" validation failed: failed to validate item 1: matches none of the enum values`},
	{desc: "bad realm", plugin: "jwt-auth", conf: `{"realm":"a\"b"}`, want: `property "realm" validation failed: failed to match pattern "^[\\x20-\\x21\\x23-\\x5B\\]-\\x7E]+$" with "a\"b"`},
	{desc: "consumer HS256", plugin: "jwt-auth", typ: consumer, conf: `{"key":"user-key","secret":"s3cr3t"}`},
	{desc: "consumer RS256", plugin: "jwt-auth", typ: consumer, conf: `{"key":"user-key","algorithm":"RS256","public_key":"-----BEGIN PUBLIC KEY-----"}`},
	{desc: "consumer RS256 without public key", plugin: "jwt-auth", typ: consumer, conf: `{"key":"user-key","algorithm":"RS256"}`, want: `value should match only one schema, but matches none`},
	{desc: "consumer bad algorithm", plugin: "jwt-auth", typ: consumer, conf: `{"key":"user-key","algorithm":"none"}`, want: `property "algorithm" validation failed: matches none of the enum values`},
	{desc: "consumer missing key", plugin: "jwt-auth", typ: consumer, conf: `{"secret":"s"}`, want: `property "key" is required`},

	// hmac-auth
	{desc: "valid", plugin: "hmac-auth", conf: `{"allowed_algorithms":["hmac-sha256"],"clock_skew":60,"signed_headers":["date"]}`},
	{desc: "bad algorithm", plugin: "hmac-auth", conf: `{"allowed_algorithms":["md5"]}`, want: `property "allowed_algorithms" validation failed: failed to validate item 1: matches none of the enum values`},
	{desc: "clock skew zero", plugin: "hmac-auth", conf: `{"clock_skew":0}`, want: `property "clock_skew" validation failed: expected 0 to be greater than 1`},
	{desc: "consumer", plugin: "hmac-auth", typ: consumer, conf: `{"key_id":"k","secret_key":"s"}`},
	{desc: "consumer missing secret", plugin: "hmac-auth", typ: consumer, conf: `{"key_id":"k"}`, want: `property "secret_key" is required`},

	// limit-count
	{desc: "count and window", plugin: "limit-count", conf: `{"count":2,"time_window":60,"rejected_code":503,"key":"remote_addr"}`},
	{desc: "rules", plugin: "limit-count", conf: `{"rules":[{"count":10,"time_window":1,"key":"$remote_addr"},{"count":"$http_n","time_window":60,"key":"$consumer_name","header_prefix":"m"}]}`},
	{desc: "redis", plugin: "limit-count", conf: `{"count":2,"time_window":60,"policy":"redis","redis_host":"127.0.0.1"}`},
	{desc: "redis cluster", plugin: "limit-count", conf: `{"count":2,"time_window":60,"policy":"redis-cluster","redis_cluster_nodes":["127.0.0.1:7000"],"redis_cluster_name":"c"}`},
	{desc: "redis sentinel", plugin: "limit-count", conf: `{"count":2,"time_window":60,"policy":"redis-sentinel","redis_sentinels":[{"host":"127.0.0.1","port":26379}],"redis_master_name":"m"}`},
	{desc: "neither count nor rules", plugin: "limit-count", conf: `{"key":"remote_addr"}`, want: `value should match only one schema, but matches none`},
	{desc: "count without window", plugin: "limit-count", conf: `{"count":2}`, want: `value should match only one schema, but matches none`},
	{desc: "count zero", plugin: "limit-count", conf: `{"count":0,"time_window":60}`, want: `property "count" validation failed: value should match only one schema, but matches none`},
	{desc: "rejected code too large", plugin: "limit-count", conf: `{"count":1,"time_window":60,"rejected_code":600}`, want: `property "rejected_code" validation failed: expected 600 to be smaller than 599`},
	{desc: "bad policy", plugin: "limit-count", conf: `{"count":1,"time_window":60,"policy":"memcached"}`, want: `property "policy" validation failed: matches none of the enum values`},
	{desc: "bad window type", plugin: "limit-count", conf: `{"count":1,"time_window":60,"window_type":"rolling"}`, want: `property "window_type" validation failed: matches none of the enum values`},
	{desc: "sentinel additional property", plugin: "limit-count", conf: `{"count":2,"time_window":60,"policy":"redis-sentinel","redis_sentinels":[{"host":"127.0.0.1","port":26379,"weight":1}],"redis_master_name":"m"}`, want: `property "redis_sentinels" validation failed: failed to validate item 1: additional properties forbidden, found weight`},
	{desc: "rule missing key", plugin: "limit-count", conf: `{"rules":[{"count":1,"time_window":1}]}`, want: `property "rules" validation failed: failed to validate item 1: property "key" is required`},
	{desc: "check: count with rules", plugin: "limit-count", conf: `{"count":1,"rules":[{"count":1,"time_window":1,"key":"a"}]}`, want: `count/time_window and rules cannot be specified at the same time`},
	{desc: "check: group with rules", plugin: "limit-count", conf: `{"group":"g","rules":[{"count":1,"time_window":1,"key":"a"}]}`, want: `group and rules cannot be specified at the same time`},
	{desc: "check: duplicate rule key", plugin: "limit-count", conf: `{"rules":[{"count":1,"time_window":1,"key":"a"},{"count":2,"time_window":2,"key":"a"}]}`, want: `duplicate key 'a' in rules`},
	{desc: "check: sync interval too small", plugin: "limit-count", conf: `{"count":1,"time_window":60,"policy":"redis","redis_host":"127.0.0.1","sync_interval":0.01}`, want: `sync_interval should not be smaller than 0.1`},
	{desc: "check: sync interval not below window", plugin: "limit-count", conf: `{"count":1,"time_window":60,"policy":"redis","redis_host":"127.0.0.1","sync_interval":60}`, want: `sync_interval should be smaller than time_window`},
	{desc: "redis without host", plugin: "limit-count", conf: `{"count":1,"time_window":60,"policy":"redis"}`, want: `property "redis_host" is required`},
	{desc: "sync interval ignored locally", plugin: "limit-count", conf: `{"count":1,"time_window":60,"sync_interval":0.01}`},
	{desc: "metadata", plugin: "limit-count", typ: metadata, conf: `{"limit_header":"X-Limit"}`},
	{desc: "metadata wrong type", plugin: "limit-count", typ: metadata, conf: `{"limit_header":1}`, want: `property "limit_header" validation failed: wrong type: expected string, got number`},

	// limit-req
	{desc: "valid", plugin: "limit-req", conf: `{"rate":1,"burst":2,"key":"remote_addr","rejected_code":503,"nodelay":true}`},
	{desc: "rules", plugin: "limit-req", conf: `{"rules":[{"rate":1,"burst":0,"key":"$remote_addr"}]}`},
	{desc: "missing key", plugin: "limit-req", conf: `{"rate":1,"burst":2}`, want: `value should match only one schema, but matches none`},
	{desc: "negative burst", plugin: "limit-req", conf: `{"rate":1,"burst":-1,"key":"remote_addr"}`, want: `property "burst" validation failed: value should match only one schema, but matches none`},
	{desc: "bad key type", plugin: "limit-req", conf: `{"rate":1,"burst":1,"key":"remote_addr","key_type":"constant"}`, want: `property "key_type" validation failed: matches none of the enum values`},
	{desc: "check: duplicate rule key", plugin: "limit-req", conf: `{"rules":[{"rate":1,"burst":0,"key":"k"},{"rate":2,"burst":0,"key":"k"}]}`, want: `duplicate key 'k' in rules`},

	// limit-conn
	{desc: "valid", plugin: "limit-conn", conf: `{"conn":1,"burst":0,"default_conn_delay":0.1,"key":"remote_addr","only_use_default_delay":true}`},
	{desc: "rules", plugin: "limit-conn", conf: `{"default_conn_delay":0.1,"rules":[{"conn":1,"burst":0,"key":"$remote_addr"}]}`},
	{desc: "redis", plugin: "limit-conn", conf: `{"conn":1,"burst":0,"default_conn_delay":0.1,"key":"remote_addr","policy":"redis","redis_host":"127.0.0.1","key_ttl":60}`},
	{desc: "missing delay", plugin: "limit-conn", conf: `{"conn":1,"burst":0,"key":"remote_addr"}`, want: `value should match only one schema, but matches none`},
	{desc: "zero delay", plugin: "limit-conn", conf: `{"conn":1,"burst":0,"default_conn_delay":0,"key":"remote_addr"}`, want: `property "default_conn_delay" validation failed: expected 0 to be strictly greater than 0`},
	{desc: "check: duplicate rule key", plugin: "limit-conn", conf: `{"default_conn_delay":0.1,"rules":[{"conn":1,"burst":0,"key":"k"},{"conn":2,"burst":0,"key":"k"}]}`, want: `duplicate key 'k' in rules`},

	// proxy-cache
	{desc: "empty uses defaults", plugin: "proxy-cache", conf: `{}`},
	{desc: "memory", plugin: "proxy-cache", conf: `{"cache_strategy":"memory","cache_zone":"memory_cache","cache_key":["$host","$uri","-static"],"cache_bypass":["$arg_bypass"],"no_cache":["$arg_nocache"],"cache_method":["GET"],"cache_http_status":[200],"cache_ttl":60,"cache_control":true,"hide_cache_headers":true}`},
	{desc: "bad strategy", plugin: "proxy-cache", conf: `{"cache_strategy":"redis"}`, want: `property "cache_strategy" validation failed: matches none of the enum values`},
	{desc: "bad method", plugin: "proxy-cache", conf: `{"cache_method":["PUT"]}`, want: `property "cache_method" validation failed: failed to validate item 1: matches none of the enum values`},
	{desc: "bad key variable", plugin: "proxy-cache", conf: `{"cache_key":["$host-"]}`, want: `property "cache_key" validation failed: failed to validate item 1: failed to match pattern "(^[^\\$].+$|^\\$[0-9a-zA-Z_]+$)" with "$host-"`},
	{desc: "duplicate status", plugin: "proxy-cache", conf: `{"cache_http_status":[200,200]}`, want: `property "cache_http_status" validation failed: expected unique items but items 1 and 2 are equal`},
	{desc: "check: request method in key", plugin: "proxy-cache", conf: `{"cache_key":["$host","$request_method"]}`, want: `cache_key variable $request_method unsupported`},

	// proxy-rewrite
	{desc: "valid", plugin: "proxy-rewrite", conf: `{"uri":"/test/home.html","host":"iresty.com","method":"POST","headers":{"set":{"X-Api":"v2"},"add":{"X-N":1},"remove":["X-Drop"]}}`},
	{desc: "regex uri and flat headers", plugin: "proxy-rewrite", conf: `{"regex_uri":["^/iresty/(.*)/(.*)","/$1/$2"],"headers":{"X-Api-Version":"v1"}}`},
	// APISIX fills in use_real_request_uri_unsafe's default before
	// minProperties is checked, so an empty configuration passes.
	{desc: "empty", plugin: "proxy-rewrite", conf: `{}`},
	{desc: "wrong type", plugin: "proxy-rewrite", conf: `{"use_real_request_uri_unsafe":"yes"}`, want: `property "use_real_request_uri_unsafe" validation failed: wrong type: expected boolean, got string`},
	{desc: "uri without slash", plugin: "proxy-rewrite", conf: `{"uri":"home"}`, want: `property "uri" validation failed: failed to match pattern "^\\/.*" with "home"`},
	{desc: "bad method", plugin: "proxy-rewrite", conf: `{"method":"BREW"}`, want: `property "method" validation failed: matches none of the enum values`},
	{desc: "headers additional property", plugin: "proxy-rewrite", conf: `{"headers":{"add":{"a":"b"},"x":{}}}`, want: `property "headers" validation failed: value should match only one schema, but matches none`},
	{desc: "check: odd regex_uri", plugin: "proxy-rewrite", conf: `{"regex_uri":["^/a","/b","^/c"]}`, want: `The length of regex_uri should be an even number`},
	{desc: "check: bad regex", plugin: "proxy-rewrite", conf: `{"regex_uri":["^/(a","/b"]}`, want: `invalid regex_uri(^/(a, /b): pcre_compile() failed: missing closing ) in "^/(a"`},
	{desc: "check: bad header value", plugin: "proxy-rewrite", conf: `{"headers":{"X-A":"a\nb"}}`, want: `invalid value character in header`},

	// response-rewrite
	{desc: "valid", plugin: "response-rewrite", conf: `{"status_code":200,"body":"{\"code\":\"ok\"}","headers":{"set":{"X-Server-id":3},"add":["X-Server-balancer-addr: $balancer_ip"],"remove":["Server"]},"vars":[["status","==",200]]}`},
	{desc: "filters", plugin: "response-rewrite", conf: `{"filters":[{"regex":"X-Amzn-Trace-Id","scope":"global","replace":"X-Trace","options":"jio"}]}`},
	{desc: "base64 body", plugin: "response-rewrite", conf: `{"body":"SGVsbG8=","body_base64":true}`},
	{desc: "bad header to add", plugin: "response-rewrite", conf: `{"headers":{"add":["X-A"]}}`, want: `property "headers" validation failed: object matches none of the required`},
	{desc: "status too large", plugin: "response-rewrite", conf: `{"status_code":599}`, want: `property "status_code" validation failed: expected 599 to be smaller than 598`},
	{desc: "body and filters", plugin: "response-rewrite", conf: `{"body":"a","filters":[{"regex":"a","replace":"b"}]}`, want: `value wasn't supposed to match schema`},
	{desc: "filter missing replace", plugin: "response-rewrite", conf: `{"filters":[{"regex":"a"}]}`, want: `property "filters" validation failed: failed to validate item 1: property "replace" is required`},
	{desc: "check: base64 without body", plugin: "response-rewrite", conf: `{"body_base64":true}`, want: `invalid base64 content`},
	{desc: "check: bad base64", plugin: "response-rewrite", conf: `{"body":"not base64!","body_base64":true}`, want: `invalid base64 content`},
	{desc: "check: bad filter regex", plugin: "response-rewrite", conf: `{"filters":[{"regex":"(","replace":"b"}]}`, want: `regex "(" validation failed: pcre_compile() failed: missing closing ) in "("`},

	// traffic-split
	{desc: "valid", plugin: "traffic-split", conf: `{"rules":[{"match":[{"vars":[["arg_name","==","jack"]]}],"weighted_upstreams":[{"upstream":{"name":"up","type":"roundrobin","nodes":{"127.0.0.1:1981":10},"timeout":{"connect":15,"send":15,"read":15}},"weight":1},{"upstream_id":"2","weight":1},{"weight":1}]}]}`},
	{desc: "additional property", plugin: "traffic-split", conf: `{"rules":[],"x":1}`, want: `additional properties forbidden, found x`},
	{desc: "rule additional property", plugin: "traffic-split", conf: `{"rules":[{"weighted_upstreams":[{"weight":1}],"name":"r"}]}`, want: `property "rules" validation failed: failed to validate item 1: additional properties forbidden, found name`},
	{desc: "too many upstreams", plugin: "traffic-split", conf: `{"rules":[{"weighted_upstreams":[{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}]}]}`, want: `property "rules" validation failed: failed to validate item 1: property "weighted_upstreams" validation failed: expect array to have at most 20 items`},
	{desc: "negative weight", plugin: "traffic-split", conf: `{"rules":[{"weighted_upstreams":[{"weight":-1}]}]}`, want: `property "rules" validation failed: failed to validate item 1: property "weighted_upstreams" validation failed: failed to validate item 1: property "weight" validation failed: expected -1 to be greater than 0`},
	{desc: "upstream without nodes", plugin: "traffic-split", conf: `{"rules":[{"weighted_upstreams":[{"upstream":{"type":"roundrobin"}}]}]}`, want: `property "rules" validation failed: failed to validate item 1: property "weighted_upstreams" validation failed: failed to validate item 1: property "upstream" validation failed: value should match only one schema, but matches none`},

	// request-id
	{desc: "valid", plugin: "request-id", conf: `{"header_name":"X-Req","include_in_response":false,"algorithm":"range_id","range_id":{"length":10,"char_set":"abcdef"}}`},
	{desc: "bad algorithm", plugin: "request-id", conf: `{"algorithm":"snowflake"}`, want: `property "algorithm" validation failed: matches none of the enum values`},
	{desc: "short range", plugin: "request-id", conf: `{"algorithm":"range_id","range_id":{"length":5}}`, want: `property "range_id" validation failed: property "length" validation failed: expected 5 to be greater than 6`},

	// real-ip
	{desc: "valid", plugin: "real-ip", conf: `{"source":"http_x_forwarded_for","trusted_addresses":["127.0.0.1","10.0.0.0/8","::1"],"recursive":true}`},
	{desc: "missing source", plugin: "real-ip", conf: `{"recursive":true}`, want: `property "source" is required`},
	{desc: "empty source", plugin: "real-ip", conf: `{"source":""}`, want: `property "source" validation failed: string too short, expected at least 1, got 0`},
	{desc: "check: bad address", plugin: "real-ip", conf: `{"source":"http_x_forwarded_for","trusted_addresses":["::/200"]}`, want: `invalid ip address: ::/200`},

	// ip-restriction
	{desc: "whitelist", plugin: "ip-restriction", conf: `{"whitelist":["127.0.0.1","113.74.26.106/24","fe80::/64"],"message":"go away","response_code":404}`},
	{desc: "both lists", plugin: "ip-restriction", conf: `{"whitelist":["127.0.0.1"],"blacklist":["10.0.0.1"]}`, want: `value should match only one schema, but matches both schemas 1 and 2`},
	{desc: "no list", plugin: "ip-restriction", conf: `{"message":"x"}`, want: `value should match only one schema, but matches none`},
	{desc: "bad response code", plugin: "ip-restriction", conf: `{"whitelist":["127.0.0.1"],"response_code":401}`, want: `property "response_code" validation failed: expected 401 to be greater than 403`},
	{desc: "check: bad cidr", plugin: "ip-restriction", conf: `{"blacklist":["::/200"]}`, want: `invalid ip address: ::/200`},

	// ua-restriction
	{desc: "valid", plugin: "ua-restriction", conf: `{"denylist":["my-bot1","(Baiduspider)/(\\d+)\\.(\\d+)"],"bypass_missing":true}`},
	{desc: "both lists", plugin: "ua-restriction", conf: `{"allowlist":["a"],"denylist":["b"]}`, want: `value should match only one schema, but matches both schemas 1 and 2`},
	{desc: "empty rule", plugin: "ua-restriction", conf: `{"allowlist":[""]}`, want: `property "allowlist" validation failed: failed to validate item 1: string too short, expected at least 1, got 0`},
	{desc: "check: bad regex", plugin: "ua-restriction", conf: `{"denylist":["[a"]}`, want: `pcre_compile() failed: missing closing ] in "[a"`},

	// referer-restriction
	{desc: "valid", plugin: "referer-restriction", conf: `{"whitelist":["xx.com","*.xx.com"],"bypass_missing":true}`},
	{desc: "bad host", plugin: "referer-restriction", conf: `{"blacklist":["a/b"]}`, want: `property "blacklist" validation failed: failed to validate item 1: failed to match pattern "^\\*$|^\\*?[0-9a-zA-Z-._\\[\\]:]+$" with "a/b"`},
	{desc: "no list", plugin: "referer-restriction", conf: `{}`, want: `value should match only one schema, but matches none`},

	// consumer-restriction
	{desc: "valid", plugin: "consumer-restriction", conf: `{"type":"consumer_group_id","whitelist":["g1"],"rejected_code":401,"rejected_msg":"no"}`},
	{desc: "methods", plugin: "consumer-restriction", conf: `{"allowed_by_methods":[{"user":"jack","methods":["POST","PURGE"]}]}`},
	{desc: "no list", plugin: "consumer-restriction", conf: `{"type":"route_id"}`, want: `object matches none of the required`},
	{desc: "bad type", plugin: "consumer-restriction", conf: `{"type":"ip","whitelist":["a"]}`, want: `property "type" validation failed: matches none of the enum values`},

	// cors
	{desc: "defaults", plugin: "cors", conf: `{}`},
	{desc: "valid", plugin: "cors", conf: `{"allow_origins":"http://a.com,https://b.com","allow_methods":"GET,POST","allow_headers":"X-A","expose_headers":"X-B","max_age":60,"allow_credential":true,"allow_origins_by_regex":[".*\\.test\\.com$"],"allow_origins_by_metadata":["company"]}`},
	{desc: "bad origins", plugin: "cors", conf: `{"allow_origins":"a.com"}`, want: `property "allow_origins" validation failed: failed to match pattern "^(\\*|\\*\\*|null|\\w+://[^,]+(,\\w+://[^,]+)*)$" with "a.com"`},
	{desc: "check: credential with default origins", plugin: "cors", conf: `{"allow_credential":true}`, want: `you can not set '*' for other option when 'allow_credential' is true`},
	{desc: "check: credential with star header", plugin: "cors", conf: `{"allow_credential":true,"allow_origins":"http://a.com","allow_methods":"GET","allow_headers":"*"}`, want: `you can not set '*' for other option when 'allow_credential' is true`},
	{desc: "check: bad origin regex", plugin: "cors", conf: `{"allow_origins_by_regex":["(a"]}`, want: `pcre_compile() failed: missing closing ) in "(a"`},
	{desc: "metadata", plugin: "cors", typ: metadata, conf: `{"allow_origins":{"company":"https://a.com,https://b.com"}}`},
	{desc: "metadata bad origins", plugin: "cors", typ: metadata, conf: `{"allow_origins":{"company":"a.com"}}`, want: `property "allow_origins" validation failed: property "company" validation failed: failed to match pattern "^(\\*|\\*\\*|null|\\w+://[^,]+(,\\w+://[^,]+)*)$" with "a.com"`},

	// redirect
	{desc: "uri", plugin: "redirect", conf: `{"uri":"/test/${uri}?x=$arg_x","ret_code":301}`},
	{desc: "regex uri", plugin: "redirect", conf: `{"regex_uri":["^/iresty/(.*)","/$1"],"encode_uri":true}`},
	{desc: "https", plugin: "redirect", conf: `{"http_to_https":true}`},
	{desc: "none", plugin: "redirect", conf: `{"ret_code":302}`, want: `value should match only one schema, but matches none`},
	{desc: "two", plugin: "redirect", conf: `{"uri":"/a","http_to_https":true}`, want: `value should match only one schema, but matches both schemas 1 and 3`},
	{desc: "short uri", plugin: "redirect", conf: `{"uri":"/"}`, want: `property "uri" validation failed: string too short, expected at least 2, got 1`},
	{desc: "regex uri one item", plugin: "redirect", conf: `{"regex_uri":["^/a"]}`, want: `property "regex_uri" validation failed: expect array to have at least 2 items`},
	{desc: "check: bad regex", plugin: "redirect", conf: `{"regex_uri":["^/(a","/b"]}`, want: `invalid regex_uri (^/(a, /b), err:pcre_compile() failed: missing closing ) in "^/(a"`},
	{desc: "check: https with query string", plugin: "redirect", conf: `{"http_to_https":true,"append_query_string":true}`, want: "only one of `http_to_https` and `append_query_string` can be configured."},

	// uri-blocker
	{desc: "valid", plugin: "uri-blocker", conf: `{"block_rules":["^/internal/","select.+(from|limit)"],"rejected_code":404,"rejected_msg":"no","case_insensitive":true}`},
	{desc: "no rules", plugin: "uri-blocker", conf: `{"rejected_code":403}`, want: `property "block_rules" is required`},
	{desc: "empty message", plugin: "uri-blocker", conf: `{"block_rules":["^a"],"rejected_msg":""}`, want: `property "rejected_msg" validation failed: string too short, expected at least 1, got 0`},
	{desc: "check: bad regex", plugin: "uri-blocker", conf: `{"block_rules":["^a",".+("]}`, want: `pcre_compile() failed: missing closing ) in ".+("`},
	// brotli
	{desc: "valid", plugin: "brotli", conf: `{"types":["text/html","application/json"],"min_length":20,"comp_level":11,"lgwin":0,"lgblock":16,"mode":1,"http_version":1.0,"vary":true}`},
	{desc: "level too high", plugin: "brotli", conf: `{"comp_level":12}`, want: `property "comp_level" validation failed: expected 12 to be smaller than 11`},
	{desc: "bad window", plugin: "brotli", conf: `{"lgwin":9}`, want: `property "lgwin" validation failed: matches none of the enum values`},
	// gzip
	{desc: "valid", plugin: "gzip", conf: `{"types":["text/html","application/json"],"min_length":20,"comp_level":6,"http_version":1.1,"buffers":{"number":8,"size":16384},"vary":true}`},
	{desc: "all types", plugin: "gzip", conf: `{"types":"*"}`},
	{desc: "bad types", plugin: "gzip", conf: `{"types":"text/html"}`, want: `property "types" validation failed: object matches none of the required`},
	{desc: "level too high", plugin: "gzip", conf: `{"comp_level":10}`, want: `property "comp_level" validation failed: expected 10 to be smaller than 9`},
	{desc: "bad http version", plugin: "gzip", conf: `{"http_version":2}`, want: `property "http_version" validation failed: matches none of the enum values`},

	// prometheus
	{desc: "valid", plugin: "prometheus", conf: `{"prefer_name":true}`},
	{desc: "wrong type", plugin: "prometheus", conf: `{"prefer_name":"yes"}`, want: `property "prefer_name" validation failed: wrong type: expected boolean, got string`},

	// http-logger
	{desc: "valid", plugin: "http-logger", conf: `{"uri":"http://127.0.0.1:1980/log","auth_header":"Basic x","timeout":3,"batch_max_size":1,"inactive_timeout":2,"concat_method":"new_line","include_req_body":true,"log_format":{"host":"$host"}}`},
	{desc: "missing uri", plugin: "http-logger", conf: `{"timeout":3}`, want: `property "uri" is required`},
	{desc: "bad uri", plugin: "http-logger", conf: `{"uri":"127.0.0.1"}`, want: `property "uri" validation failed: failed to match pattern "^[^\\/]+:\\/\\/([\\da-zA-Z.-]+|\\[[\\da-fA-F:]+\\])(:\\d+)?" with "127.0.0.1"`},
	{desc: "bad concat method", plugin: "http-logger", conf: `{"uri":"http://a","concat_method":"csv"}`, want: `property "concat_method" validation failed: matches none of the enum values`},
	{desc: "batch size zero", plugin: "http-logger", conf: `{"uri":"http://a","batch_max_size":0}`, want: `property "batch_max_size" validation failed: expected 0 to be greater than 1`},
	{desc: "metadata", plugin: "http-logger", typ: metadata, conf: `{"log_format":{"host":"$host","client_ip":"$remote_addr"}}`},
	{desc: "metadata wrong type", plugin: "http-logger", typ: metadata, conf: `{"log_format":"json"}`, want: `property "log_format" validation failed: wrong type: expected object, got string`},

	// api-breaker
	{desc: "valid", plugin: "api-breaker", conf: `{"break_response_code":502,"break_response_body":"down","break_response_headers":[{"key":"X-A","value":"b"}],"max_breaker_sec":60,"unhealthy":{"http_statuses":[500,503],"failures":3},"healthy":{"http_statuses":[200],"successes":1}}`},
	{desc: "missing code", plugin: "api-breaker", conf: `{}`, want: `property "break_response_code" is required`},
	{desc: "healthy status out of range", plugin: "api-breaker", conf: `{"break_response_code":502,"healthy":{"http_statuses":[500]}}`, want: `property "healthy" validation failed: property "http_statuses" validation failed: failed to validate item 1: expected 500 to be smaller than 499`},
	{desc: "breaker too short", plugin: "api-breaker", conf: `{"break_response_code":502,"max_breaker_sec":2}`, want: `property "max_breaker_sec" validation failed: expected 2 to be greater than 3`},

	// fault-injection
	{desc: "valid", plugin: "fault-injection", conf: `{"abort":{"http_status":403,"body":"Fault Injection!","percentage":50,"vars":[[["arg_name","==","jack"]]]},"delay":{"duration":1.5}}`},
	{desc: "empty", plugin: "fault-injection", conf: `{}`, want: `expect object to have at least 1 properties`},
	{desc: "abort without status", plugin: "fault-injection", conf: `{"abort":{"body":"x"}}`, want: `property "abort" validation failed: property "http_status" is required`},
	{desc: "percentage too high", plugin: "fault-injection", conf: `{"delay":{"duration":1,"percentage":101}}`, want: `property "delay" validation failed: property "percentage" validation failed: expected 101 to be smaller than 100`},

	// mocking
	{desc: "example", plugin: "mocking", conf: `{"response_example":"{\"a\":1}","response_status":201,"response_headers":{"X-Mock":"1"}}`},
	{desc: "schema", plugin: "mocking", conf: `{"response_schema":{"type":"object"},"delay":1}`},
	{desc: "neither", plugin: "mocking", conf: `{"delay":1}`, want: `object matches none of the required`},
	{desc: "bad status", plugin: "mocking", conf: `{"response_example":"x","response_status":0}`, want: `property "response_status" validation failed: expected 0 to be greater than 1`},

	// client-control
	{desc: "valid", plugin: "client-control", conf: `{"max_body_size":1024}`},
	{desc: "negative", plugin: "client-control", conf: `{"max_body_size":-1}`, want: `property "max_body_size" validation failed: expected -1 to be greater than 0`},

	// proxy-mirror
	{desc: "valid", plugin: "proxy-mirror", conf: `{"host":"http://127.0.0.1:9797","path":"/a","path_concat_mode":"prefix","sample_ratio":0.5}`},
	{desc: "missing host", plugin: "proxy-mirror", conf: `{"path":"/a"}`, want: `property "host" is required`},
	{desc: "host with path", plugin: "proxy-mirror", conf: `{"host":"http://127.0.0.1:9797/a"}`, want: `property "host" validation failed: failed to match pattern "^(http|https|grpc|grpcs)://([\\da-zA-Z.-]+|\\[[\\da-fA-F:]+\\])(:\\d+)?$" with "http://127.0.0.1:9797/a"`},
	{desc: "ratio too small", plugin: "proxy-mirror", conf: `{"host":"http://a","sample_ratio":0}`, want: `property "sample_ratio" validation failed: expected 0 to be greater than 1e-05`},

	// request-validation
	{desc: "valid", plugin: "request-validation", conf: `{"body_schema":{"type":"object","required":["a"],"properties":{"a":{"type":"string"}}},"header_schema":{"type":"object"},"rejected_code":422,"rejected_msg":"bad"}`},
	{desc: "neither", plugin: "request-validation", conf: `{"rejected_code":400}`, want: `object matches none of the required`},
	{desc: "wrong type", plugin: "request-validation", conf: `{"body_schema":"object"}`, want: `property "body_schema" validation failed: wrong type: expected object, got string`},
	{desc: "check: invalid body schema", plugin: "request-validation", conf: `{"body_schema":{"type":"foo"}}`, wantPrefix: `body_schema is not a valid JSON Schema: `},

	// forward-auth
	{desc: "valid", plugin: "forward-auth", conf: `{"uri":"http://127.0.0.1:9999/auth","request_method":"POST","request_headers":["Authorization"],"upstream_headers":["X-User-ID"],"client_headers":["Location"],"timeout":3000}`},
	{desc: "missing uri", plugin: "forward-auth", conf: `{"request_method":"GET"}`, want: `property "uri" is required`},
	{desc: "bad method", plugin: "forward-auth", conf: `{"uri":"http://a","request_method":"PUT"}`, want: `property "request_method" validation failed: matches none of the enum values`},

	// echo
	{desc: "valid", plugin: "echo", conf: `{"before_body":"before ","headers":{"X-A":"b"}}`},
	{desc: "empty", plugin: "echo", conf: `{}`, want: `expect object to have at least 1 properties`},
	{desc: "headers only", plugin: "echo", conf: `{"headers":{"X-A":"b"}}`, want: `object matches none of the required`},
}

func TestValidate(t *testing.T) {
	for _, tc := range validateCases {
		t.Run(tc.plugin+"/"+tc.desc, func(t *testing.T) {
			r, ok := plugin.Lookup(tc.plugin)
			if !ok {
				t.Fatalf("plugin %s not registered", tc.plugin)
			}
			doc, err := schema.Decode([]byte(tc.conf))
			if err != nil {
				t.Fatalf("bad test JSON: %v", err)
			}
			var got string
			if err := r.Validate(doc, tc.typ); err != nil {
				got = err.Error()
			}
			if tc.wantPrefix != "" {
				if !strings.HasPrefix(got, tc.wantPrefix) {
					t.Errorf("Validate(%s) = %q, want prefix %q", tc.conf, got, tc.wantPrefix)
				}
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Validate(%s) error mismatch (-want +got):\n%s", tc.conf, diff)
			}
		})
	}
}

// TestValidateCoverage makes sure every plugin has at least one valid and
// one invalid sample configuration above.
func TestValidateCoverage(t *testing.T) {
	valid, invalid := map[string]bool{}, map[string]bool{}
	for _, tc := range validateCases {
		if tc.want == "" && tc.wantPrefix == "" {
			valid[tc.plugin] = true
		} else {
			invalid[tc.plugin] = true
		}
	}
	for _, r := range plugin.All() {
		if !valid[r.Name] || !invalid[r.Name] {
			t.Errorf("%s: needs valid and invalid samples (valid %v, invalid %v)", r.Name,
				valid[r.Name], invalid[r.Name])
		}
	}
}

func TestJWTConsumerCheck(t *testing.T) {
	for _, tc := range []struct {
		desc string
		conf string
		want string
	}{
		{desc: "HS256 with secret", conf: `{"key":"k","secret":"s"}`},
		{desc: "HS384 without secret (generated)", conf: `{"key":"k","algorithm":"HS384"}`},
		{desc: "RS256 with key", conf: `{"key":"k","algorithm":"RS256","public_key":"pem"}`},
		{desc: "default algorithm without secret", conf: `{"key":"k"}`, want: `property "secret" is required when "algorithm" is "HS256" or "HS512"`},
		{desc: "HS512 without secret", conf: `{"key":"k","algorithm":"HS512"}`, want: `property "secret" is required when "algorithm" is "HS256" or "HS512"`},
		{desc: "base64 secret", conf: `{"key":"k","secret":"c2VjcmV0","base64_secret":true}`},
		{desc: "bad base64 secret", conf: `{"key":"k","secret":"not base64!","base64_secret":true}`, want: `base64_secret required but the secret is not in base64 format`},
		{desc: "ES256 without key", conf: `{"key":"k","algorithm":"ES256"}`, want: `missing valid public key`},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			doc, err := schema.Decode([]byte(tc.conf))
			if err != nil {
				t.Fatal(err)
			}
			var got string
			if err := jwtauth.CheckConsumer(doc.(map[string]any)); err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("CheckConsumer(%s) = %q, want %q", tc.conf, got, tc.want)
			}
		})
	}
}
