package admin_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

const up1 = `{"type":"roundrobin","nodes":{"127.0.0.1:1980":1}}`

func TestAuth(t *testing.T) {
	e := newEnv(t)
	e.run([]step{
		{desc: "no key", method: "GET", path: "/routes", key: "-", status: 401,
			want: `{"error_msg":"failed to check token","description":"missing apikey"}`},
		{desc: "wrong key", method: "GET", path: "/routes", key: "nope", status: 401,
			want: `{"error_msg":"failed to check token","description":"wrong apikey"}`},
		{desc: "viewer may read", method: "GET", path: "/routes", key: viewerKey, status: 200,
			want: `{"total":0,"list":[]}`},
		{desc: "viewer may not write", method: "PUT", path: "/routes/1", body: `{"uri":"/a","upstream":` + up1 + `}`, key: viewerKey, status: 401,
			want: `{"error_msg":"failed to check token","description":"invalid method for role viewer"}`},
		{desc: "key in query", method: "GET", path: "/routes?api_key=" + adminKey, key: "-", status: 200},
		{desc: "HEAD on root needs no key", method: "HEAD", path: "", key: "-", status: 200},
	})
	// Cookie.
	req, _ := http.NewRequest("GET", e.url+"/apisix/admin/routes", nil)
	req.AddCookie(&http.Cookie{Name: "x_api_key", Value: adminKey})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("cookie key: status %d", res.StatusCode)
	}
}

func TestHeadersAndPrefixes(t *testing.T) {
	e := newEnv(t)
	r := e.do("PUT", "/routes/1", `{"uri":"/a","upstream":`+up1+`}`, "")
	if r.status != 201 {
		t.Fatalf("put: %d %s", r.status, r.body)
	}
	for _, h := range []struct{ k, v string }{{"Server", "Stargate/test"}, {"X-Api-Version", "v3"}, {"Access-Control-Allow-Origin", "*"}, {"Content-Type", "application/json"}} {
		if got := r.header.Get(h.k); got != h.v {
			t.Errorf("header %s = %q, want %q", h.k, got, h.v)
		}
	}
	a := e.do("GET", e.url+"/apisix/admin/routes/1", "", "")
	b := e.do("GET", e.url+"/api/stargate/v1/routes/1", "", "")
	if a.status != 200 || string(a.body) != string(b.body) {
		t.Errorf("prefixes differ: %d %s vs %d %s", a.status, a.body, b.status, b.body)
	}
}

func TestRouteLifecycle(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		e.run([]step{
			{desc: "get missing", method: "GET", path: "/routes/1", status: 404, want: `{"message":"Key not found"}`},
			{desc: "put new", method: "PUT", path: "/routes/1", body: `{"uri":"/a","upstream":` + up1 + `}`, status: 201,
				want: `{"key":"/apisix/routes/1","value":{"id":"1","uri":"/a","upstream":{"type":"roundrobin","nodes":{"127.0.0.1:1980":1}},"create_time":0,"update_time":0}}`},
			{desc: "put replace", method: "PUT", path: "/routes/1", body: `{"uri":"/b","upstream":` + up1 + `}`, status: 200,
				want: `{"key":"/apisix/routes/1","value":{"id":"1","uri":"/b","upstream":{"type":"roundrobin","nodes":{"127.0.0.1:1980":1}},"create_time":0,"update_time":0}}`},
			{desc: "get", method: "GET", path: "/routes/1", status: 200,
				want: `{"key":"/apisix/routes/1","value":{"id":"1","uri":"/b","upstream":{"type":"roundrobin","nodes":{"127.0.0.1:1980":1}},"create_time":0,"update_time":0},"createdIndex":0,"modifiedIndex":0}`},
			{desc: "put with id in body only", method: "PUT", path: "/routes", body: `{"id":"2","uri":"/c","upstream":` + up1 + `}`, status: 201, want: `~"key":"/apisix/routes/2"`},
			{desc: "numeric body id equals url id", method: "PUT", path: "/routes/3", body: `{"id":3,"uri":"/d","upstream":` + up1 + `}`, status: 201, want: `~"id":"3"`},
			{desc: "missing id", method: "PUT", path: "/routes", body: `{"uri":"/c","upstream":` + up1 + `}`, status: 400, want: `{"error_msg":"missing route id"}`},
			{desc: "wrong id", method: "PUT", path: "/routes/1", body: `{"id":"9","uri":"/c","upstream":` + up1 + `}`, status: 400, want: `{"error_msg":"wrong route id"}`},
			{desc: "post with id", method: "POST", path: "/routes", body: `{"id":"9","uri":"/c","upstream":` + up1 + `}`, status: 400, want: `{"error_msg":"wrong route id, do not need it"}`},
			{desc: "bad id", method: "PUT", path: "/routes/a%20b", body: `{"uri":"/c","upstream":` + up1 + `}`, status: 400,
				want: `{"error_msg":"invalid configuration: property \"id\" validation failed: object matches none of the required"}`},
			{desc: "create_time forbidden", method: "PUT", path: "/routes/4", body: `{"uri":"/c","create_time":1,"upstream":` + up1 + `}`, status: 400,
				want: `{"error_msg":"the property is forbidden:  create_time"}`},
			{desc: "update_time forbidden in upstream", method: "PUT", path: "/routes/4", body: `{"uri":"/c","upstream":{"update_time":1,"nodes":{"a:1":1}}}`, status: 400,
				want: `{"error_msg":"the property is forbidden:  update_time"}`},
			{desc: "create_time forbidden on post", method: "POST", path: "/routes", body: `{"uri":"/c","create_time":1,"upstream":` + up1 + `}`, status: 400,
				want: `{"error_msg":"the property is forbidden:  create_time"}`},
			{desc: "delete", method: "DELETE", path: "/routes/1", status: 200, want: `{"deleted":"1","key":"/apisix/routes/1"}`},
			{desc: "delete again", method: "DELETE", path: "/routes/1", status: 404, want: `{"message":"Key not found"}`},
			{desc: "delete without id", method: "DELETE", path: "/routes", status: 400, want: `{"error_msg":"missing route id"}`},
			{desc: "patch missing", method: "PATCH", path: "/routes/1", body: `{"uri":"/z"}`, status: 404, want: `{"message":"Key not found"}`},
		})
	})
}

func TestPostGeneratesIDs(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		var ids []string
		for i := 0; i < 3; i++ {
			path := "/routes"
			if i == 1 {
				path = "/upstreams"
			}
			body := fmt.Sprintf(`{"uri":"/p%d","upstream":%s}`, i, up1)
			if i == 1 {
				body = up1
			}
			r := e.do("POST", path, body, "")
			if r.status != 201 {
				t.Fatalf("post: %d %s", r.status, r.body)
			}
			m := r.json(t)
			id := m["value"].(map[string]any)["id"].(string)
			if len(id) != 20 || strings.Trim(id, "0123456789") != "" {
				t.Fatalf("id %q is not 20 digits", id)
			}
			if m["key"] != "/apisix"+path+"/"+id {
				t.Errorf("key %v for id %s", m["key"], id)
			}
			ids = append(ids, id)
		}
		if !(ids[0] < ids[1] && ids[1] < ids[2]) {
			t.Errorf("ids do not rise across kinds: %v", ids)
		}
	})
}

func TestTimestamps(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		r := e.do("PUT", "/upstreams/1", up1, "")
		ct := r.json(t)["value"].(map[string]any)["create_time"].(float64)
		if ct < 1e9 {
			t.Fatalf("create_time %v", ct)
		}
		// A PATCH may set update_time; create_time survives a PUT.
		r = e.do("PATCH", "/upstreams/1", `{"update_time":5}`, "")
		if v := r.json(t)["value"].(map[string]any); v["update_time"].(float64) != 5 || v["create_time"].(float64) != ct {
			t.Errorf("patch with update_time: %s", r.body)
		}
		r = e.do("PUT", "/upstreams/1", up1, "")
		if v := r.json(t)["value"].(map[string]any); v["create_time"].(float64) != ct || v["update_time"].(float64) < ct {
			t.Errorf("put kept times wrong: %s", r.body)
		}
	})
}

func TestPatch(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		e.run([]step{
			{desc: "seed", method: "PUT", path: "/routes/1", body: `{"uri":"/a","methods":["GET","POST"],"labels":{"a":"1","b":"2"},"upstream":{"nodes":{"127.0.0.1:1":1,"127.0.0.1:2":1},"type":"roundrobin"}}`, status: 201},
			{desc: "merge objects, replace arrays, null deletes", method: "PATCH", path: "/routes/1",
				body: `{"methods":["PUT"],"labels":{"a":null,"c":"3"},"upstream":{"nodes":{"127.0.0.1:2":null,"127.0.0.1:3":5}}}`, status: 200,
				want: `{"key":"/apisix/routes/1","value":{"id":"1","uri":"/a","methods":["PUT"],"labels":{"b":"2","c":"3"},"upstream":{"nodes":{"127.0.0.1:1":1,"127.0.0.1:3":5},"type":"roundrobin"},"create_time":0,"update_time":0}}`},
			{desc: "sub-path array", method: "PATCH", path: "/routes/1/methods", body: `["POST"]`, status: 200, want: `~"methods":["POST"]`},
			{desc: "sub-path string", method: "PATCH", path: "/routes/1/uri", body: `"/x"`, status: 200, want: `~"uri":"/x"`},
			{desc: "sub-path creates objects", method: "PATCH", path: "/routes/1/upstream/timeout", body: `{"connect":1,"send":1,"read":1}`, status: 200, want: `~"timeout":{"connect":1,"read":1,"send":1}`},
			{desc: "sub-path through a non-object", method: "PATCH", path: "/routes/1/uri/x", body: `"a"`, status: 400, want: `{"error_msg":"invalid sub-path: /uri"}`},
			{desc: "nodes map to array", method: "PATCH", path: "/routes/1/upstream/nodes", body: `[{"host":"127.0.0.1","port":80,"weight":1}]`, status: 200, want: `~"nodes":[{"host":"127.0.0.1","port":80,"weight":1}]`},
			{desc: "result revalidated", method: "PATCH", path: "/routes/1", body: `{"uri":5}`, status: 400,
				want: `{"error_msg":"invalid configuration: property \"uri\" validation failed: wrong type: expected string, got number"}`},
			{desc: "non-object body", method: "PATCH", path: "/routes/1", body: `[1]`, status: 400, want: `{"error_msg":"invalid configuration"}`},
			{desc: "no body", method: "PATCH", path: "/routes/1", status: 400, want: `{"error_msg":"missing new configuration"}`},
			{desc: "still intact", method: "GET", path: "/routes/1", status: 200, want: `~"uri":"/x"`},
		})
	})
}

func TestMethodsPerResource(t *testing.T) {
	e := newEnv(t)
	e.run([]step{
		{desc: "unknown resource", method: "GET", path: "/nope", status: 404, want: `{"error_msg":"Unsupported resource type: nope"}`},
		{desc: "post global rule", method: "POST", path: "/global_rules", body: `{"plugins":{}}`, status: 405, want: "{\"error_msg\":\"not supported `POST` method for global rule\"}"},
		{desc: "post plugin config", method: "POST", path: "/plugin_configs", body: `{"plugins":{}}`, status: 405, want: "{\"error_msg\":\"not supported `POST` method for plugin config\"}"},
		{desc: "post consumer", method: "POST", path: "/consumers", body: `{"username":"a"}`, status: 405, want: "{\"error_msg\":\"not supported `POST` method for consumer\"}"},
		{desc: "patch consumer", method: "PATCH", path: "/consumers/a", body: `{}`, status: 405, want: "{\"error_msg\":\"not supported `PATCH` method for consumer\"}"},
		{desc: "patch stream route", method: "PATCH", path: "/stream_routes/1", body: `{}`, status: 405, want: "{\"error_msg\":\"not supported `PATCH` method for stream route\"}"},
		{desc: "post plugin metadata", method: "POST", path: "/plugin_metadata", body: `{}`, status: 405},
		{desc: "method the module lacks", method: "TRACE", path: "/routes", status: 404, want: `{"error_msg":"not found"}`},
	})
}

func TestBadBodies(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		big := `{"uri":"/a","desc":"` + strings.Repeat("x", 2<<20) + `"}`
		e.run([]step{
			{desc: "bad json", method: "PUT", path: "/routes/1", body: `{"uri":`, status: 400, want: `{"error_msg":"invalid request body: unexpected EOF","req_body":"{\"uri\":"}`},
			{desc: "trailing garbage", method: "PUT", path: "/routes/1", body: `{"uri":"/a"} x`, status: 400, want: `~invalid request body`},
			{desc: "empty", method: "PUT", path: "/routes/1", body: ``, status: 400, want: `~invalid request body`},
			{desc: "array body", method: "PUT", path: "/routes/1", body: `[]`, status: 400, want: `~invalid configuration`},
			{desc: "too large", method: "PUT", path: "/routes/1", body: big, status: 400, want: `~invalid request body: request body too large`},
			{desc: "unknown field", method: "PUT", path: "/routes/1", body: `{"uri":"/a","nope":1,"upstream":` + up1 + `}`, status: 400,
				want: `{"error_msg":"invalid configuration: additional properties forbidden, found nope"}`},
			{desc: "wrong type", method: "PUT", path: "/routes/1", body: `{"uri":1,"upstream":` + up1 + `}`, status: 400,
				want: `{"error_msg":"invalid configuration: property \"uri\" validation failed: wrong type: expected string, got number"}`},
			{desc: "nothing written", method: "GET", path: "/routes/1", status: 404},
			{desc: "bad ttl", method: "PUT", path: "/routes/1?ttl=abc", body: `{"uri":"/a","upstream":` + up1 + `}`, status: 400,
				want: `{"error_msg":"invalid argument ttl: should be a number"}`},
		})
	})
}

func TestRouteCrossFieldChecks(t *testing.T) {
	e := newEnv(t)
	e.run([]step{
		{desc: "host and hosts", method: "PUT", path: "/routes/1", body: `{"uri":"/a","host":"a.com","hosts":["b.com"],"upstream":` + up1 + `}`, status: 400,
			want: `{"error_msg":"only one of host or hosts is allowed"}`},
		{desc: "remote_addr and remote_addrs", method: "PUT", path: "/routes/1", body: `{"uri":"/a","remote_addr":"127.0.0.1","remote_addrs":["127.0.0.2"],"upstream":` + up1 + `}`, status: 400,
			want: `{"error_msg":"only one of remote_addr or remote_addrs is allowed"}`},
		{desc: "bad wildcard host", method: "PUT", path: "/routes/1", body: `{"uri":"/a","host":"a.*.com","upstream":` + up1 + `}`, status: 400, want: `~host`},
		{desc: "chash without key", method: "PUT", path: "/upstreams/1", body: `{"type":"chash","nodes":{"a:1":1}}`, status: 400, want: `{"error_msg":"missing key"}`},
		{desc: "chash with consumer", method: "PUT", path: "/upstreams/1", body: `{"type":"chash","hash_on":"consumer","nodes":{"a:1":1}}`, status: 201},
		{desc: "pass_host rewrite without host", method: "PUT", path: "/upstreams/2", body: `{"pass_host":"rewrite","nodes":{"a:1":1}}`, status: 400, want: "~`upstream_host` can't be empty"},
		{desc: "seed route", method: "PUT", path: "/routes/seed", body: `{"uri":"/api/v1/products","name":"product-service","desc":"d","priority":0,"methods":["GET"],"host":"api.example.com","remote_addr":"192.168.1.0/24","upstream":{"type":"roundrobin","nodes":{"127.0.0.1:8080":1},"timeout":{"connect":6,"send":6,"read":6}},"enable_websocket":false,"status":1}`, status: 201},
	})
}

func TestReferences(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		e.run([]step{
			{desc: "missing upstream", method: "PUT", path: "/routes/1", body: `{"uri":"/a","upstream_id":"9"}`, status: 400,
				want: `{"error_msg":"failed to fetch upstream info by upstream id [9], response code: 404"}`},
			{desc: "missing service", method: "PUT", path: "/routes/1", body: `{"uri":"/a","service_id":"9"}`, status: 400,
				want: `{"error_msg":"failed to fetch service info by service id [9], response code: 404"}`},
			{desc: "missing plugin config", method: "PUT", path: "/routes/1", body: `{"uri":"/a","plugin_config_id":"9","upstream":` + up1 + `}`, status: 400,
				want: `{"error_msg":"failed to fetch plugin config info by plugin config id [9], response code: 404"}`},
			{desc: "missing group", method: "PUT", path: "/consumers/jack", body: `{"username":"jack","group_id":"9"}`, status: 400,
				want: `{"error_msg":"failed to fetch consumer group info by consumer group id [9], response code: 404"}`},
			{desc: "upstream", method: "PUT", path: "/upstreams/1", body: up1, status: 201},
			{desc: "service", method: "PUT", path: "/services/1", body: `{"upstream_id":"1"}`, status: 201},
			{desc: "route on upstream", method: "PUT", path: "/routes/1", body: `{"uri":"/a","upstream_id":1}`, status: 201},
			{desc: "route on service", method: "PUT", path: "/routes/2", body: `{"uri":"/b","service_id":"1"}`, status: 201},
			{desc: "delete used upstream", method: "DELETE", path: "/upstreams/1", status: 400,
				want: `{"error_msg":"can not delete this upstream, route [1] is still using it now"}`},
			{desc: "delete used service", method: "DELETE", path: "/services/1", status: 400,
				want: `{"error_msg":"can not delete this service directly, route [2] is still using it now"}`},
			{desc: "drop route 1", method: "DELETE", path: "/routes/1", status: 200},
			{desc: "service still uses upstream", method: "DELETE", path: "/upstreams/1", status: 400,
				want: `{"error_msg":"can not delete this upstream, service [1] is still using it now"}`},
			{desc: "force", method: "DELETE", path: "/upstreams/1?force=true", status: 200},
			{desc: "force must be exactly true", method: "DELETE", path: "/services/1?force=1", status: 400, want: `~still using`},
			{desc: "plugin config", method: "PUT", path: "/plugin_configs/1", body: `{"plugins":{}}`, status: 201},
			{desc: "route on plugin config", method: "PUT", path: "/routes/3", body: `{"uri":"/c","plugin_config_id":"1","upstream":` + up1 + `}`, status: 201},
			{desc: "delete used plugin config", method: "DELETE", path: "/plugin_configs/1", status: 400,
				want: `{"error_msg":"can not delete this plugin config, route [3] is still using it now"}`},
			{desc: "group", method: "PUT", path: "/consumer_groups/g", body: `{"plugins":{}}`, status: 201},
			{desc: "consumer in group", method: "PUT", path: "/consumers", body: `{"username":"jack","group_id":"g"}`, status: 201},
			{desc: "delete used group", method: "DELETE", path: "/consumer_groups/g", status: 400,
				want: `{"error_msg":"can not delete this consumer group, consumer [jack] is still using it now"}`},
			{desc: "traffic-split target", method: "PUT", path: "/upstreams/ts", body: up1, status: 201},
			{desc: "traffic-split user", method: "PUT", path: "/global_rules/1", body: `{"plugins":{"traffic-split":{"rules":[{"weighted_upstreams":[{"upstream_id":"ts","weight":1}]}]}}}`, status: 201},
			{desc: "delete upstream used by plugin", method: "DELETE", path: "/upstreams/ts", status: 400,
				want: `{"error_msg":"can not delete this upstream, plugin in global rule [1] is still using it now"}`},
		})
	})
}

func TestPlugins(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		e.run([]step{
			{desc: "unknown plugin", method: "PUT", path: "/routes/1", body: `{"uri":"/a","plugins":{"nope":{}},"upstream":` + up1 + `}`, status: 400,
				want: `{"error_msg":"unknown plugin [nope]"}`},
			{desc: "bad plugin conf", method: "PUT", path: "/routes/1", body: `{"uri":"/a","plugins":{"limit-count":{"count":1,"time_window":1,"rejected_msg":true}},"upstream":` + up1 + `}`, status: 400,
				want: `{"error_msg":"failed to check the configuration of plugin limit-count err: property \"rejected_msg\" validation failed: wrong type: expected string, got boolean"}`},
			{desc: "plugins only route", method: "PUT", path: "/routes/1", body: `{"uri":"/a","plugins":{"key-auth":{}}}`, status: 201},
			{desc: "_meta accepted", method: "PUT", path: "/routes/2", body: `{"uri":"/b","plugins":{"key-auth":{"_meta":{"disable":true}}}}`, status: 201},
			{desc: "consumer with key-auth", method: "PUT", path: "/consumers", body: `{"username":"jack","plugins":{"key-auth":{"key":"k1"}}}`, status: 201},
			{desc: "credential", method: "PUT", path: "/consumers/jack/credentials/c1", body: `{"plugins":{"basic-auth":{"username":"u","password":"p"}}}`, status: 201,
				want: `~"key":"/apisix/consumers/jack/credentials/c1"`},
			{desc: "duplicate key in another consumer", method: "PUT", path: "/consumers", body: `{"username":"rose","plugins":{"key-auth":{"key":"k1"}}}`, status: 400,
				want: `{"error_msg":"duplicate key of plugin key-auth found with consumer: jack"}`},
			{desc: "duplicate key in a credential", method: "PUT", path: "/consumers", body: `{"username":"rose","plugins":{"basic-auth":{"username":"u","password":"x"}}}`, status: 400,
				want: `{"error_msg":"duplicate username of plugin basic-auth found with credential: c1 of consumer: jack"}`},
			{desc: "rewriting itself is fine", method: "PUT", path: "/consumers/jack", body: `{"username":"jack","plugins":{"key-auth":{"key":"k1"}}}`, status: 200},
			{desc: "credential non-auth", method: "PUT", path: "/consumers/jack/credentials/c2", body: `{"plugins":{"limit-count":{"count":1,"time_window":1}}}`, status: 400,
				want: `{"error_msg":"only supports auth type plugins in consumer credential"}`},
			{desc: "credential of missing consumer", method: "PUT", path: "/consumers/nobody/credentials/c1", body: `{"plugins":{"key-auth":{"key":"x"}}}`, status: 404},
			{desc: "consumer list hides credentials", method: "GET", path: "/consumers", status: 200, want: `~"total":1`},
			{desc: "credential list", method: "GET", path: "/consumers/jack/credentials", status: 200, want: `~"total":1`},
			{desc: "delete consumer", method: "DELETE", path: "/consumers/jack", status: 200},
			{desc: "credentials went with it", method: "GET", path: "/consumers/jack/credentials/c1", status: 404},
			{desc: "global rule", method: "PUT", path: "/global_rules/1", body: `{"plugins":{"prometheus":{}}}`, status: 201},
			{desc: "same plugin in two global rules", method: "PUT", path: "/global_rules/2", body: `{"plugins":{"prometheus":{}}}`, status: 400,
				want: `{"error_msg":"plugin 'prometheus' already exists in global rule with id '1'"}`},
			{desc: "proxy-cache unknown zone", method: "PUT", path: "/routes/3", body: `{"uri":"/c","plugins":{"proxy-cache":{"cache_zone":"nope"}},"upstream":` + up1 + `}`, status: 400,
				want: `~cache_zone nope not found`},
			{desc: "proxy-cache zone kind mismatch", method: "PUT", path: "/routes/3", body: `{"uri":"/c","plugins":{"proxy-cache":{"cache_strategy":"memory","cache_zone":"disk_cache_one"}},"upstream":` + up1 + `}`, status: 400,
				want: `~invalid or empty cache_zone for cache_strategy: memory`},
			{desc: "plugin metadata unknown", method: "PUT", path: "/plugin_metadata/nope", body: `{}`, status: 400, want: `{"error_msg":"invalid plugin name"}`},
		})
	})
}

func TestPluginEndpoints(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/plugins/list", "", "")
	if r.status != 200 || !strings.HasPrefix(string(r.body), `["`) {
		t.Fatalf("plugins/list: %d %s", r.status, r.body)
	}
	// request-id [12015] outranks key-auth [2500], which outranks prometheus [500].
	b := string(r.body)
	if !(strings.Index(b, `"request-id"`) < strings.Index(b, `"key-auth"`) && strings.Index(b, `"key-auth"`) < strings.Index(b, `"prometheus"`)) {
		t.Errorf("plugins/list not in priority order: %s", b)
	}
	e.run([]step{
		{desc: "plugin schema", method: "GET", path: "/plugins/key-auth", status: 200, want: `~"properties"`},
		{desc: "consumer schema", method: "GET", path: "/plugins/key-auth?schema_type=consumer", status: 200, want: `~"key"`},
		{desc: "unknown plugin", method: "GET", path: "/plugins/nope", status: 404, want: `{"error_msg":"plugin not found in subsystem http"}`},
		{desc: "all map", method: "GET", path: "/plugins?all=true", status: 200, want: `~"priority":2500`},
		{desc: "reload", method: "PUT", path: "/plugins/reload", status: 200},
		{desc: "reload wrong method", method: "GET", path: "/plugins/reload", status: 405},
		{desc: "schema of route", method: "GET", path: "/schema/route", status: 200, want: `~"uri"`},
		{desc: "schema of plugin", method: "GET", path: "/schema/plugins/limit-count", status: 200, want: `~"time_window"`},
		{desc: "missing schema", method: "GET", path: "/schema/nope", status: 400, want: `{"error_msg":"not found schema: nope"}`},
		{desc: "validate ok", method: "POST", path: "/schema/validate/routes", body: `{"uri":"/a","upstream_id":"x"}`, status: 200},
		{desc: "validate bad", method: "POST", path: "/schema/validate/routes", body: `{"uri":1}`, status: 400, want: `~wrong type`},
		{desc: "configs validate", method: "POST", path: "/configs/validate", body: `{"routes":[{"uri":1}]}`, status: 400,
			want: `{"error_msg":"invalid routes at index 0, err: property \"uri\" validation failed: wrong type: expected string, got number"}`},
	})
}

func TestListPagingFilters(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		// Created in an order different from key order.
		ids := []string{"b", "a", "d", "c"}
		for i, id := range ids {
			body := fmt.Sprintf(`{"uri":"/x/%d","name":"route-%s","labels":{"env%s":"v"},"upstream":%s}`, i, id, id, up1)
			if id == "d" {
				body = fmt.Sprintf(`{"uris":["/y/1","/y/2"],"name":"other","upstream":%s}`, up1)
			}
			if r := e.do("PUT", "/routes/"+id, body, ""); r.status != 201 {
				t.Fatalf("seed %s: %s", id, r.body)
			}
		}
		keys := func(path string) string {
			r := e.do("GET", path, "", "")
			if r.status != 200 {
				return fmt.Sprintf("status %d: %s", r.status, r.body)
			}
			m := r.json(t)
			var out []string
			for _, it := range m["list"].([]any) {
				out = append(out, it.(map[string]any)["value"].(map[string]any)["id"].(string))
			}
			return fmt.Sprintf("%v/%v", m["total"], strings.Join(out, ","))
		}
		for _, c := range []struct{ desc, path, want string }{
			{"unpaged is key order", "/routes", "4/a,b,c,d"},
			{"paged is creation order", "/routes?page=1&page_size=10", "4/b,a,d,c"},
			{"page past the end", "/routes?page=2&page_size=10", "4/"},
			{"page below 1", "/routes?page=0&page_size=10", "4/b,a,d,c"},
			{"only page: unpaged", "/routes?page=1", "4/a,b,c,d"},
			{"name regex", "/routes?name=^route-[ab]", "2/a,b"},
			{"uri regex searches uris", "/routes?uri=/y/2", "1/d"},
			{"label key", "/routes?label=enva", "1/a"},
			{"empty label", "/routes?label=", "0/"},
		} {
			if got := keys(c.path); got != c.want {
				t.Errorf("%s: %s = %s, want %s", c.desc, c.path, got, c.want)
			}
		}
		e.run([]step{
			{desc: "page_size too small", method: "GET", path: "/routes?page=1&page_size=5", status: 400, want: "page_size must be between 10 and 500"},
			{desc: "page_size too big", method: "GET", path: "/routes?page=1&page_size=501", status: 400, want: "page_size must be between 10 and 500"},
			{desc: "empty list", method: "GET", path: "/services", status: 200, want: `{"total":0,"list":[]}`},
			{desc: "filter upstream", method: "PUT", path: "/upstreams/u1", body: up1, status: 201},
			{desc: "route on u1", method: "PUT", path: "/routes/e", body: `{"uri":"/e","upstream_id":"u1"}`, status: 201},
			{desc: "filter=", method: "GET", path: "/routes?filter=upstream_id%3Du1", status: 200, want: `~"total":1`},
			{desc: "bad filter field", method: "GET", path: "/routes?filter=name%3Dx", status: 400},
			{desc: "bad regex", method: "GET", path: "/routes?name=(", status: 400},
		})
	})
}

func TestRouteConflicts(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		body := `{"uri":"/a","hosts":["a.com","b.com"],"methods":["GET"],"upstream":` + up1 + `}`
		e.run([]step{
			{desc: "first", method: "PUT", path: "/routes/1", body: body, status: 201},
			{desc: "same route again under its own id", method: "PUT", path: "/routes/1", body: body, status: 200},
			{desc: "duplicate", method: "PUT", path: "/routes/2", body: `{"uri":"/a","hosts":["b.com","A.com"],"methods":["GET"],"upstream":` + up1 + `}`, status: 400,
				want: `~route conflicts with route [1]`},
			{desc: "duplicate via post", method: "POST", path: "/routes", body: body, status: 400, want: `~route conflicts with route [1]`},
			{desc: "different priority is fine", method: "PUT", path: "/routes/3", body: `{"uri":"/a","priority":1,"hosts":["a.com","b.com"],"methods":["GET"],"upstream":` + up1 + `}`, status: 201},
			{desc: "disabled duplicate is fine", method: "PUT", path: "/routes/4", body: `{"uri":"/a","status":0,"hosts":["a.com","b.com"],"methods":["GET"],"upstream":` + up1 + `}`, status: 201},
			{desc: "enabling it conflicts", method: "PATCH", path: "/routes/4", body: `{"status":1}`, status: 400, want: `~route conflicts with route [1]`},
			{desc: "force", method: "PUT", path: "/routes/2?force=true", body: body, status: 201},
			{desc: "delete original", method: "DELETE", path: "/routes/1", status: 200},
			{desc: "slot still taken by the forced one", method: "PUT", path: "/routes/5", body: body, status: 400, want: `~route conflicts with route [2]`},
			{desc: "delete forced", method: "DELETE", path: "/routes/2", status: 200},
			{desc: "slot free", method: "PUT", path: "/routes/5", body: body, status: 201},
		})
	})
}

func TestOptionsAndTTL(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		r := e.do("OPTIONS", "/routes", "", "-")
		if r.status != 200 || r.header.Get("Access-Control-Allow-Methods") == "" {
			t.Errorf("preflight: %d %v", r.status, r.header)
		}
		r = e.do("PUT", "/upstreams/t?ttl=1", up1, "")
		if r.status != 201 {
			t.Fatalf("ttl put: %s", r.body)
		}
		deadline := time.Now().Add(5 * time.Second)
		for e.do("GET", "/upstreams/t", "", "").status != 404 {
			if time.Now().After(deadline) {
				t.Fatal("ttl key did not expire")
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}
