package consumerrestriction_test

import (
	"fmt"
	"testing"

	_ "github.com/stargate-edge/stargate/internal/plugin/standard"
	"github.com/stargate-edge/stargate/internal/testutil/edgetest"
)

func TestConsumerRestriction(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "").Addr
	e.Put("/consumer_groups/gold", `{"plugins":{}}`)
	e.Put("/consumer_groups/silver", `{"plugins":{}}`)
	e.Put("/consumers/jack", `{"username":"jack","group_id":"gold","plugins":{"key-auth":{"key":"jack"}}}`)
	e.Put("/consumers/rose", `{"username":"rose","group_id":"silver","plugins":{"key-auth":{"key":"rose"}}}`)
	e.Put("/consumers/tom", `{"username":"tom","plugins":{"key-auth":{"key":"tom"}}}`)
	e.Put("/consumers/amy", `{"username":"amy"}`)
	e.Put("/consumers/amy/credentials/c1", `{"plugins":{"key-auth":{"key":"amy"}}}`)
	// eve may use one route only: her own consumer-restriction.
	e.Put("/consumers/eve", `{"username":"eve","plugins":{"key-auth":{"key":"eve"},"consumer-restriction":{"type":"route_id","whitelist":["open"]}}}`)
	e.Put("/services/s1", fmt.Sprintf(`{"upstream":{"nodes":{%q:1}}}`, up))

	e.Route("white", "/white", up, `{"key-auth":{},"consumer-restriction":{"whitelist":["jack","amy"]}}`)
	e.Route("black", "/black", up, `{"key-auth":{},"consumer-restriction":{"blacklist":["rose"],"rejected_code":418,"rejected_msg":"not you"}}`)
	e.Route("group", "/group", up, `{"key-auth":{},"consumer-restriction":{"type":"consumer_group_id","whitelist":["gold"]}}`)
	e.Route("open", "/open", up, `{"key-auth":{},"consumer-restriction":{"type":"route_id","whitelist":["open"]}}`)
	e.Route("closed", "/closed", up, `{"key-auth":{},"consumer-restriction":{"type":"route_id","blacklist":["closed"]}}`)
	e.Route("noservice", "/noservice", up, `{"consumer-restriction":{"type":"service_id","whitelist":["s1"]}}`)
	e.Put("/routes/svc", `{"uri":"/svc","service_id":"s1","plugins":{"consumer-restriction":{"type":"service_id","whitelist":["s1"]}}}`)
	e.Put("/routes/svc2", `{"uri":"/svc2","service_id":"s1","plugins":{"consumer-restriction":{"type":"service_id","blacklist":["s1"]}}}`)
	e.Route("noauth", "/noauth", up, `{"consumer-restriction":{"whitelist":["jack"]}}`)
	e.Route("methods", "/methods", up, `{"key-auth":{},"consumer-restriction":{"allowed_by_methods":[{"user":"jack","methods":["GET","HEAD"]},{"user":"jack","methods":["POST"]},{"user":"tom","methods":["DELETE"]}]}}`)
	e.Route("both", "/both", up, `{"key-auth":{},"consumer-restriction":{"whitelist":["rose"],"allowed_by_methods":[{"user":"rose","methods":["GET"]},{"user":"jack","methods":["POST"]}]}}`)
	e.Route("eve", "/eve-elsewhere", up, `{"key-auth":{}}`)

	const (
		forbiddenName  = `{"message":"The consumer_name is forbidden."}`
		forbiddenGroup = `{"message":"The consumer_group_id is forbidden."}`
		forbiddenRoute = `{"message":"The route_id is forbidden."}`
	)
	for _, tc := range []struct {
		name, method, path, key string
		status                  int
		body                    string
	}{
		{"whitelisted", "GET", "/white", "jack", 200, ""},
		{"whitelisted by credential", "GET", "/white", "amy", 200, ""},
		{"not whitelisted", "GET", "/white", "rose", 403, forbiddenName},
		{"blacklisted with code and message", "GET", "/black", "rose", 418, `{"message":"not you"}`},
		{"not blacklisted", "GET", "/black", "jack", 200, ""},
		{"group whitelisted", "GET", "/group", "jack", 200, ""},
		{"other group", "GET", "/group", "rose", 403, forbiddenGroup},
		{"no group", "GET", "/group", "tom", 401, `{"message":"The request is rejected, please check the consumer_group_id for this request"}`},
		{"route whitelisted", "GET", "/open", "tom", 200, ""},
		{"route blacklisted", "GET", "/closed", "tom", 403, forbiddenRoute},
		{"service whitelisted", "GET", "/svc", "", 200, ""},
		{"service blacklisted", "GET", "/svc2", "", 403, `{"message":"The service_id is forbidden."}`},
		{"route without a service", "GET", "/noservice", "", 401, `{"message":"The request is rejected, please check the service_id for this request"}`},
		{"no consumer", "GET", "/noauth", "", 401, `{"message":"The request is rejected, please check the consumer_name for this request"}`},
		{"method allowed by the first rule", "GET", "/methods", "jack", 200, ""},
		{"method only in a later rule", "POST", "/methods", "jack", 403, forbiddenName},
		{"method not allowed", "PUT", "/methods", "jack", 403, forbiddenName},
		{"user without a rule", "PUT", "/methods", "rose", 200, ""},
		{"other user's rule", "DELETE", "/methods", "tom", 200, ""},
		{"other user's rule denies", "GET", "/methods", "tom", 403, forbiddenName},
		{"whitelisted ignores method rules", "POST", "/both", "rose", 200, ""},
		{"not whitelisted even with a method rule", "POST", "/both", "jack", 403, forbiddenName},
		{"consumer's own restriction allows", "GET", "/open", "eve", 200, ""},
		{"consumer's own restriction denies", "GET", "/eve-elsewhere", "eve", 403, forbiddenRoute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.key != "" {
				hdr = []string{"apikey", tc.key}
			}
			r := e.Do(tc.method, tc.path, "", hdr...)
			if tc.status == 200 {
				if r.Status != 200 {
					t.Fatalf("%d %s", r.Status, r.Body)
				}
				return
			}
			edgetest.Rejected(t, r, tc.status, tc.body)
		})
	}
}
