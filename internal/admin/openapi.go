package admin

import (
	"encoding/json"
	"net/http"
	"sync"

	"github.com/stargate-edge/stargate/internal/resource"
)

var (
	openapiOnce sync.Once
	openapiDoc  []byte
)

// serveOpenAPI answers GET /openapi.json: an OpenAPI 3.1 description of the
// whole API, built from the same resource table and schemas that validate
// requests, so it cannot drift from the behaviour.
func (s *Server) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	openapiOnce.Do(func() { openapiDoc = buildOpenAPI(s.opts.Version) })
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openapiDoc)
}

type obj = map[string]any

func ref(name string) obj { return obj{"$ref": "#/components/schemas/" + name} }

func jsonBody(schema obj) obj {
	return obj{"content": obj{"application/json": obj{"schema": schema}}}
}

func resp(desc string, schema obj) obj {
	r := obj{"description": desc}
	if schema != nil {
		r["content"] = obj{"application/json": obj{"schema": schema}}
	}
	return r
}

func buildOpenAPI(version string) []byte {
	schemas := obj{
		"Error": obj{"type": "object", "required": []string{"error_msg"}, "properties": obj{
			"error_msg": obj{"type": "string"}, "description": obj{"type": "string"}, "req_body": obj{"type": "string"}}},
		"NotFound": obj{"type": "object", "properties": obj{"message": obj{"type": "string", "const": "Key not found"}}},
		"Deleted":  obj{"type": "object", "properties": obj{"deleted": obj{"type": "string"}, "key": obj{"type": "string"}}},
	}
	for _, name := range resource.SchemaNames() {
		sc, _ := resource.Schema(name)
		var m map[string]any
		_ = json.Unmarshal(sc.Raw(), &m)
		// Each resource schema is its own schema resource, so its internal
		// "#/definitions/..." references resolve inside it.
		m["$id"] = "https://stargate.invalid/schemas/" + name + ".json"
		schemas[name] = m
		schemas[name+"Item"] = obj{"type": "object", "properties": obj{
			"key": obj{"type": "string"}, "value": ref(name),
			"createdIndex": obj{"type": "integer"}, "modifiedIndex": obj{"type": "integer"}}}
		schemas[name+"List"] = obj{"type": "object", "properties": obj{
			"total": obj{"type": "integer"}, "list": obj{"type": "array", "items": ref(name + "Item")}}}
	}
	accountSchemas(schemas)
	errs := obj{
		"400": resp("invalid input", ref("Error")),
		"401": resp("missing, wrong or expired API key or token", ref("Error")),
		"403": resp("the caller's role, organization or address does not allow it", ref("Error")),
		"503": resp("store unavailable, or the object changed concurrently", ref("Error")),
	}
	with := func(m obj, extra obj) obj {
		out := obj{}
		for k, v := range errs {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	idParam := obj{"name": "id", "in": "path", "required": true, "schema": obj{"type": "string", "pattern": "^[a-zA-Z0-9-_.]+$", "maxLength": 64}}
	ttl := obj{"name": "ttl", "in": "query", "schema": obj{"type": "number"}, "description": "expire the object after this many seconds"}
	force := obj{"name": "force", "in": "query", "schema": obj{"type": "string", "enum": []string{"true"}}}
	listParams := []obj{
		{"name": "page", "in": "query", "schema": obj{"type": "integer", "minimum": 1}},
		{"name": "page_size", "in": "query", "schema": obj{"type": "integer", "minimum": 10, "maximum": 500}},
		{"name": "name", "in": "query", "schema": obj{"type": "string"}, "description": "regex on name"},
		{"name": "label", "in": "query", "schema": obj{"type": "string"}, "description": "label key"},
		{"name": "uri", "in": "query", "schema": obj{"type": "string"}, "description": "regex on uri/uris"},
		{"name": "filter", "in": "query", "schema": obj{"type": "string"}, "description": "url-encoded k=v&... on service_id, upstream_id"},
	}
	paths := obj{}
	for _, k := range resource.Kinds() {
		sname := k.SchemaName
		base := "/" + k.Name
		itemPath := base + "/{id}"
		params := []obj{idParam}
		switch k.Name {
		case "secrets":
			sname = "secret_vault"
			base = "/secrets/{manager}"
			itemPath = base + "/{id}"
			mgr := obj{"name": "manager", "in": "path", "required": true, "schema": obj{"type": "string", "enum": []string{"vault", "aws", "gcp"}}}
			params = []obj{mgr, idParam}
		case "plugin_metadata":
			sname = ""
			itemPath = base + "/{id}"
		}
		bodySchema := obj{"type": "object"}
		itemSchema := obj{"type": "object"}
		listSchema := obj{"type": "object"}
		if sname != "" {
			bodySchema, itemSchema, listSchema = ref(sname), ref(sname+"Item"), ref(sname+"List")
		}
		col := obj{"get": obj{"summary": "List " + k.Name, "tags": []string{k.Name}, "parameters": listParams,
			"responses": with(errs, obj{"200": resp("the list", listSchema)})}}
		if !k.NoPost {
			col["post"] = obj{"summary": "Create a " + k.Label + " with a generated id", "tags": []string{k.Name},
				"parameters": []obj{ttl}, "requestBody": jsonBody(bodySchema),
				"responses": with(errs, obj{"201": resp("created", itemSchema)})}
		}
		if k.Name == "consumers" {
			col["put"] = obj{"summary": "Create or replace a consumer named in the body", "tags": []string{k.Name},
				"requestBody": jsonBody(bodySchema), "responses": with(errs, obj{"200": resp("replaced", itemSchema), "201": resp("created", itemSchema)})}
		}
		col["parameters"] = []obj{orgParam}
		if k.Name == "secrets" {
			col["parameters"] = []obj{params[0], orgParam}
		}
		paths[base] = col
		item := obj{
			"parameters": append(append([]obj{}, params...), orgParam),
			"get":        obj{"summary": "Get a " + k.Label, "tags": []string{k.Name}, "responses": with(errs, obj{"200": resp("the object", itemSchema), "404": resp("no such object", ref("NotFound"))})},
			"put": obj{"summary": "Create or replace a " + k.Label, "tags": []string{k.Name}, "parameters": []obj{ttl, force},
				"requestBody": jsonBody(bodySchema), "responses": with(errs, obj{"200": resp("replaced", itemSchema), "201": resp("created", itemSchema)})},
			"delete": obj{"summary": "Delete a " + k.Label, "tags": []string{k.Name}, "parameters": []obj{force},
				"responses": with(errs, obj{"200": resp("deleted", ref("Deleted")), "404": resp("no such object", ref("NotFound"))})},
		}
		if !k.NoPatch {
			item["patch"] = obj{"summary": "Merge into a " + k.Label + " (objects merge, arrays replace, null deletes)", "tags": []string{k.Name},
				"requestBody": jsonBody(obj{"type": "object"}), "responses": with(errs, obj{"200": resp("patched", itemSchema), "404": resp("no such object", ref("NotFound"))})}
			paths[itemPath+"/{path}"] = obj{
				"parameters": append(append([]obj{}, params...), obj{"name": "path", "in": "path", "required": true, "schema": obj{"type": "string"}, "description": "sub-path, e.g. methods or upstream/nodes"}),
				"patch": obj{"summary": "Replace the node at a sub-path of a " + k.Label, "tags": []string{k.Name},
					"requestBody": jsonBody(obj{}), "responses": with(errs, obj{"200": resp("patched", itemSchema), "404": resp("no such object", ref("NotFound"))})}}
		}
		paths[itemPath] = item
	}
	userParam := obj{"name": "username", "in": "path", "required": true, "schema": obj{"type": "string"}}
	paths["/consumers/{username}/credentials"] = obj{"parameters": []obj{userParam},
		"get": obj{"summary": "List a consumer's credentials", "tags": []string{"consumers"}, "responses": with(errs, obj{"200": resp("the list", ref("credentialList"))})}}
	paths["/consumers/{username}/credentials/{id}"] = obj{"parameters": []obj{userParam, idParam},
		"get":    obj{"summary": "Get a credential", "tags": []string{"consumers"}, "responses": with(errs, obj{"200": resp("the credential", ref("credentialItem")), "404": resp("no such object", ref("NotFound"))})},
		"put":    obj{"summary": "Create or replace a credential", "tags": []string{"consumers"}, "requestBody": jsonBody(ref("credential")), "responses": with(errs, obj{"200": resp("replaced", ref("credentialItem")), "201": resp("created", ref("credentialItem"))})},
		"delete": obj{"summary": "Delete a credential", "tags": []string{"consumers"}, "responses": with(errs, obj{"200": resp("deleted", ref("Deleted")), "404": resp("no such object", ref("NotFound"))})}}
	nameParam := obj{"name": "name", "in": "path", "required": true, "schema": obj{"type": "string"}}
	paths["/plugins/list"] = obj{"get": obj{"summary": "Plugin names, priority descending", "tags": []string{"plugins"},
		"parameters": []obj{{"name": "subsystem", "in": "query", "schema": obj{"type": "string", "enum": []string{"http", "stream"}}}},
		"responses":  with(errs, obj{"200": resp("names", obj{"type": "array", "items": obj{"type": "string"}})})}}
	paths["/plugins"] = obj{"get": obj{"summary": "All plugins with schema and priority (deprecated APISIX form)", "tags": []string{"plugins"},
		"parameters": []obj{{"name": "all", "in": "query", "required": true, "schema": obj{"type": "string", "enum": []string{"true"}}}},
		"responses":  with(errs, obj{"200": resp("map of name to plugin", obj{"type": "object"})})}}
	paths["/plugins/{name}"] = obj{"parameters": []obj{nameParam}, "get": obj{"summary": "A plugin's JSON Schema", "tags": []string{"plugins"},
		"parameters": []obj{{"name": "schema_type", "in": "query", "schema": obj{"type": "string", "enum": []string{"consumer", "metadata"}}}},
		"responses":  with(errs, obj{"200": resp("JSON Schema", obj{"type": "object"}), "404": resp("unknown plugin", ref("Error"))})}}
	paths["/plugins/reload"] = obj{"put": obj{"summary": "Accepted for compatibility; plugins are built in", "tags": []string{"plugins"},
		"responses": with(errs, obj{"200": obj{"description": "done"}})}}
	resParam := obj{"name": "resource", "in": "path", "required": true, "schema": obj{"type": "string"}}
	paths["/schema/{resource}"] = obj{"parameters": []obj{resParam}, "get": obj{"summary": "A resource's JSON Schema", "tags": []string{"schema"},
		"responses": with(errs, obj{"200": resp("JSON Schema", obj{"type": "object"})})}}
	paths["/schema/plugins/{name}"] = obj{"parameters": []obj{nameParam}, "get": obj{"summary": "A plugin's JSON Schema", "tags": []string{"schema"},
		"responses": with(errs, obj{"200": resp("JSON Schema", obj{"type": "object"}), "404": resp("unknown plugin", ref("Error"))})}}
	paths["/schema/validate/{resource}"] = obj{"parameters": []obj{resParam}, "post": obj{"summary": "Validate an object without writing it", "tags": []string{"schema"},
		"requestBody": jsonBody(obj{"type": "object"}), "responses": with(errs, obj{"200": obj{"description": "valid"}})}}
	paths["/configs/validate"] = obj{"post": obj{"summary": "Validate a declarative document of several collections", "tags": []string{"schema"},
		"requestBody": jsonBody(obj{"type": "object"}), "responses": with(errs, obj{"200": obj{"description": "valid"}})}}

	addDNSPaths(paths, schemas, errs)

	paths["/secrets"] = obj{"get": obj{"summary": "List the secrets of every manager (operator)", "tags": []string{"secrets"},
		"responses": with(errs, obj{"200": resp("the list", obj{"type": "object"})})}}
	paths["/debug/match"] = obj{"get": obj{"summary": "Which route would serve a request, with its merged configuration (operator)", "tags": []string{"debug"},
		"parameters": []obj{
			{"name": "uri", "in": "query", "required": true, "schema": obj{"type": "string"}},
			{"name": "method", "in": "query", "schema": obj{"type": "string"}},
			{"name": "host", "in": "query", "schema": obj{"type": "string"}},
			{"name": "remote_addr", "in": "query", "schema": obj{"type": "string"}}},
		"responses": with(errs, obj{"200": resp("the matching route", obj{"type": "object"}), "404": resp("no route matches", ref("Error"))})}}
	accountPaths(paths, func(extra obj) obj { return with(errs, extra) })

	doc := obj{
		"openapi": "3.1.0",
		"info": obj{"title": "Stargate admin API", "version": version,
			"description": "APISIX Admin API v3 dialect. Served under /api/stargate/v1 and, identically, /apisix/admin. " +
				"The admin key is the platform operator's and sees everything; a user's login or personal access token " +
				"acts in one organization (header " + OrgHeader + ") and sees only that organization's objects."},
		"servers":  []obj{{"url": "/api/stargate/v1"}, {"url": "/apisix/admin"}},
		"security": []obj{{"apiKeyHeader": []string{}}, {"apiKeyQuery": []string{}}, {"apiKeyCookie": []string{}}, {"bearer": []string{}}},
		"paths":    paths,
		"components": obj{
			"schemas": schemas,
			"securitySchemes": obj{
				"apiKeyHeader": obj{"type": "apiKey", "in": "header", "name": "X-API-KEY"},
				"apiKeyQuery":  obj{"type": "apiKey", "in": "query", "name": "api_key"},
				"apiKeyCookie": obj{"type": "apiKey", "in": "cookie", "name": "x_api_key"},
				"bearer":       obj{"type": "http", "scheme": "bearer", "description": "a login or personal access token"},
			},
		},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic(err) // built from static data: a bug
	}
	return b
}
