package admin_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/stargate-edge/stargate/internal/resource"
	"github.com/stargate-edge/stargate/internal/schema"
)

// TestOpenAPI checks the document against the OpenAPI 3.1 rules a client
// generator relies on: required top-level fields, path templates whose
// parameters are all declared as required path parameters, operations with
// responses, references that resolve, component schemas that compile, and
// coverage of every resource kind.
func TestOpenAPI(t *testing.T) {
	e := newEnv(t)
	for _, prefix := range []string{"/api/stargate/v1", "/apisix/admin"} {
		r := e.do("GET", e.url+prefix+"/openapi.json", "", "-")
		if r.status != 200 {
			t.Fatalf("%s/openapi.json: %d", prefix, r.status)
		}
	}
	r := e.do("GET", e.url+"/api/stargate/v1/openapi.json", "", "-")
	var doc map[string]any
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if v, _ := doc["openapi"].(string); !regexp.MustCompile(`^3\.1\.\d+$`).MatchString(v) {
		t.Errorf("openapi = %q", v)
	}
	info, _ := doc["info"].(map[string]any)
	if info["title"] == nil || info["version"] == nil {
		t.Errorf("info lacks title or version: %v", info)
	}
	comps, _ := doc["components"].(map[string]any)
	schemas, _ := comps["schemas"].(map[string]any)
	secs, _ := comps["securitySchemes"].(map[string]any)
	for name, s := range secs {
		m := s.(map[string]any)
		if m["type"] == "http" && m["scheme"] == "bearer" {
			continue
		}
		if m["type"] != "apiKey" || m["name"] == nil || !map[any]bool{"header": true, "query": true, "cookie": true}[m["in"]] {
			t.Errorf("security scheme %s invalid: %v", name, m)
		}
	}
	for _, req := range doc["security"].([]any) {
		for name := range req.(map[string]any) {
			if secs[name] == nil {
				t.Errorf("security requirement names unknown scheme %s", name)
			}
		}
	}
	// Every $ref resolves.
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				if name, ok := strings.CutPrefix(ref, "#/components/schemas/"); ok {
					if schemas[name] == nil {
						t.Errorf("%s: unresolved $ref %s", path, ref)
					}
				} else if !strings.HasPrefix(ref, "#/definitions/") && !strings.HasPrefix(ref, "#/$defs/") {
					t.Errorf("%s: unexpected $ref %s", path, ref)
				}
			}
			for k, e := range x {
				walk(path+"/"+k, e)
			}
		case []any:
			for _, e := range x {
				walk(path, e)
			}
		}
	}
	walk("#", doc)
	// Component schemas compile.
	for name, s := range schemas {
		b, _ := json.Marshal(s)
		if strings.Contains(string(b), "#/components/") {
			continue // wrappers referring to other components
		}
		if _, err := schema.Compile("openapi/"+name, b); err != nil {
			t.Errorf("component schema %s does not compile: %v", name, err)
		}
	}
	// Paths: templates, parameters, operations.
	paths, _ := doc["paths"].(map[string]any)
	tmpl := regexp.MustCompile(`\{([^}]+)\}`)
	methods := map[string]bool{"get": true, "put": true, "post": true, "delete": true, "patch": true, "head": true, "options": true, "trace": true}
	for p, item := range paths {
		if !strings.HasPrefix(p, "/") {
			t.Errorf("path %q does not start with /", p)
		}
		im := item.(map[string]any)
		declared := map[string]bool{}
		collect := func(params any) {
			for _, prm := range asSlice(params) {
				m := prm.(map[string]any)
				if m["in"] == "path" {
					if m["required"] != true {
						t.Errorf("%s: path parameter %v not required", p, m["name"])
					}
					declared[m["name"].(string)] = true
				}
				if m["schema"] == nil && m["content"] == nil {
					t.Errorf("%s: parameter %v has neither schema nor content", p, m["name"])
				}
			}
		}
		collect(im["parameters"])
		ops := 0
		for k, op := range im {
			if k == "parameters" {
				continue
			}
			if !methods[k] {
				t.Errorf("%s: unknown path item field %s", p, k)
				continue
			}
			ops++
			om := op.(map[string]any)
			collect(om["parameters"])
			resps, _ := om["responses"].(map[string]any)
			if len(resps) == 0 {
				t.Errorf("%s %s: no responses", k, p)
			}
			for code, rv := range resps {
				if !regexp.MustCompile(`^[1-5]\d\d$`).MatchString(code) {
					t.Errorf("%s %s: response code %q", k, p, code)
				}
				if rv.(map[string]any)["description"] == nil {
					t.Errorf("%s %s %s: response without description", k, p, code)
				}
			}
		}
		if ops == 0 {
			t.Errorf("%s: no operations", p)
		}
		for _, m := range tmpl.FindAllStringSubmatch(p, -1) {
			if !declared[m[1]] {
				t.Errorf("%s: template {%s} not declared as a path parameter", p, m[1])
			}
		}
	}
	// Coverage.
	for _, k := range resource.Kinds() {
		found := false
		for p := range paths {
			found = found || strings.HasPrefix(p, "/"+k.Name)
		}
		if !found {
			t.Errorf("resource %s missing from the document", k.Name)
		}
	}
	for _, p := range []string{"/plugins/list", "/plugins/{name}", "/schema/{resource}", "/schema/validate/{resource}", "/consumers/{username}/credentials/{id}", "/routes/{id}/{path}",
		// Accounts and tenancy.
		"/auth/login", "/auth/signup", "/auth/logout", "/me", "/me/password", "/me/acl", "/me/tokens", "/me/tokens/{token_id}", "/me/invitations",
		"/users", "/users/{user_id}", "/users/{user_id}/disable", "/users/{user_id}/enable", "/users/{user_id}/tokens",
		"/orgs", "/orgs/{org_id}", "/orgs/{org_id}/children", "/orgs/{org_id}/members", "/orgs/{org_id}/members/{user_id}",
		"/orgs/{org_id}/members/{user_id}/transfer", "/orgs/{org_id}/invitations", "/orgs/{org_id}/invitations/{invitation_id}",
		"/orgs/{org_id}/tokens", "/orgs/{org_id}/tokens/{token_id}", "/audit", "/stats", "/owners", "/hosts"} {
		if paths[p] == nil {
			t.Errorf("path %s missing", p)
		}
	}
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}
