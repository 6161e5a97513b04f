package admin

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/resource"
	"github.com/stargate-edge/stargate/internal/schema"
)

// servePlugins answers /plugins/list, /plugins/{name}, /plugins?all=true and
// /plugins/reload.
func (s *Server) servePlugins(w http.ResponseWriter, r *http.Request, segs []string) error {
	q := r.URL.Query()
	stream := q.Get("subsystem") == "stream"
	if len(segs) == 1 && segs[0] == "reload" {
		if r.Method != http.MethodPut {
			return errMsg(http.StatusMethodNotAllowed, "not supported `%s` method for plugins", r.Method)
		}
		// Plugins are compiled into the binary; there is nothing to reload.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("done"))
		return nil
	}
	if r.Method != http.MethodGet {
		return errMsg(http.StatusMethodNotAllowed, "not supported `%s` method for plugins", r.Method)
	}
	all := plugin.All()
	if stream {
		filtered := all[:0:0]
		for _, p := range all {
			if p.Stream {
				filtered = append(filtered, p)
			}
		}
		all = filtered
	}
	switch {
	case len(segs) == 0:
		if q.Get("all") != "true" {
			return badRequest("missing plugin name, use /plugins/list or /plugins?all=true")
		}
		out := map[string]any{}
		for _, p := range all {
			entry := map[string]any{
				"schema":   p.Schema(plugin.SchemaRoute).Raw(),
				"priority": p.Priority,
				"version":  json.Number(p.Version),
			}
			if p.Type != "" {
				entry["type"] = p.Type
			}
			if p.Scope != "" {
				entry["scope"] = p.Scope
			}
			if cs := p.Schema(plugin.SchemaConsumer); cs != nil {
				entry["consumer_schema"] = cs.Raw()
			}
			if ms := p.Schema(plugin.SchemaMetadata); ms != nil {
				entry["metadata_schema"] = ms.Raw()
			}
			out[p.Name] = entry
		}
		s.writeJSON(w, http.StatusOK, out)
		return nil
	case len(segs) == 1 && segs[0] == "list":
		names := make([]string, 0, len(all))
		for _, p := range all {
			names = append(names, p.Name)
		}
		s.writeJSON(w, http.StatusOK, names)
		return nil
	case len(segs) == 1:
		sub := "http"
		if stream {
			sub = "stream"
		}
		p, ok := plugin.Lookup(segs[0])
		if !ok || (stream && !p.Stream) {
			return errMsg(http.StatusNotFound, "plugin not found in subsystem %s", sub)
		}
		typ := plugin.SchemaRoute
		switch q.Get("schema_type") {
		case "consumer":
			typ = plugin.SchemaConsumer
		case "metadata":
			typ = plugin.SchemaMetadata
		}
		sc := p.Schema(typ)
		if sc == nil {
			// APISIX answers an empty object schema for a plugin without one.
			s.writeJSON(w, http.StatusOK, map[string]any{"type": "object", "properties": map[string]any{}})
			return nil
		}
		s.writeJSON(w, http.StatusOK, sc.Raw())
		return nil
	}
	return errMsg(http.StatusNotFound, "not found")
}

// schemaAliases maps the names APISIX accepts in /schema/{x} and
// /schema/validate/{x} (singular) and resource names (plural).
func schemaFor(name string) (string, *resource.Kind, bool) {
	if k, ok := resource.Lookup(name); ok && k.SchemaName != "" {
		return k.SchemaName, k, true
	}
	for _, k := range resource.Kinds() {
		if k.SchemaName == name {
			return name, k, true
		}
	}
	if name == "credential" || name == "credentials" {
		return "credential", resource.Credentials, true
	}
	if sname, ok := strings.CutPrefix(name, "secret_"); ok && secretManagers[sname] {
		k, _ := resource.Lookup("secrets")
		return name, k, true
	}
	return "", nil, false
}

// serveSchema answers GET /schema/{res}, GET /schema/plugins/{name} and
// POST /schema/validate/{res}.
func (s *Server) serveSchema(w http.ResponseWriter, r *http.Request, segs []string) error {
	if len(segs) == 2 && segs[0] == "validate" {
		if r.Method != http.MethodPost {
			return errMsg(http.StatusMethodNotAllowed, "not supported `%s` method for schema validate", r.Method)
		}
		return s.serveValidate(w, r, segs[1])
	}
	if r.Method != http.MethodGet {
		return errMsg(http.StatusMethodNotAllowed, "not supported `%s` method for schema", r.Method)
	}
	if len(segs) == 2 && segs[0] == "plugins" {
		return s.servePlugins(w, r, segs[1:])
	}
	if len(segs) != 1 {
		return errMsg(http.StatusNotFound, "not found")
	}
	sname, _, ok := schemaFor(segs[0])
	if !ok {
		return badRequest("not found schema: %s", segs[0])
	}
	sc, _ := resource.Schema(sname)
	s.writeJSON(w, http.StatusOK, sc.Raw())
	return nil
}

// serveValidate checks a body as a write would, without writing: schema,
// cross-field and plugin checks, but not references (the object may be
// meant for another cluster).
func (s *Server) serveValidate(w http.ResponseWriter, r *http.Request, name string) error {
	sname, k, ok := schemaFor(name)
	if !ok {
		return badRequest("not found schema: %s", name)
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	conf, err := decodeObject(body)
	if err != nil {
		return err
	}
	if err := s.validateDetached(r, k, sname, conf); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// validateDetached validates an object with no store context: the id is
// taken from the body, references are not resolved.
func (s *Server) validateDetached(r *http.Request, k *resource.Kind, sname string, conf map[string]any) error {
	t := &target{kind: k, schemaName: sname, prefix: k.Prefix}
	if id, ok := conf[k.IDField]; ok {
		t.id = idString(id)
	} else {
		t.id = "validate"
	}
	sc, _ := resource.Schema(sname)
	value := schema.DeepCopy(conf).(map[string]any)
	value[k.IDField] = t.id
	if err := sc.Validate(value); err != nil {
		return badRequest("invalid configuration: %s", err.Error())
	}
	if check := kindChecks[k.Name]; check != nil {
		if err := check(value); err != nil {
			return err
		}
	}
	return s.checkPlugins(r.Context(), t, value)
}

// serveConfigsValidate answers POST /configs/validate (APISIX 3.17): a
// declarative document {"routes":[...],"upstreams":[...],...} is checked
// object by object; the first error names its collection and index.
func (s *Server) serveConfigsValidate(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	doc, err := decodeObject(body)
	if err != nil {
		return err
	}
	for _, k := range resource.Kinds() {
		items, ok := doc[k.Name]
		if !ok {
			continue
		}
		arr, ok := items.([]any)
		if !ok {
			return badRequest("invalid %s: expected an array", k.Name)
		}
		for i, it := range arr {
			obj, ok := it.(map[string]any)
			if !ok {
				return badRequest("invalid %s at index %d, err: wrong type: expected object, got %s", k.Name, i, jsonType(it))
			}
			if k.SchemaName == "" {
				continue
			}
			if err := s.validateDetached(r, k, k.SchemaName, obj); err != nil {
				msg := err.Error()
				if ae, ok := err.(*apiError); ok {
					if m, ok := ae.body.(map[string]any); ok {
						msg, _ = m["error_msg"].(string)
					}
				}
				msg = strings.TrimPrefix(msg, "invalid configuration: ")
				return badRequest("invalid %s at index %d, err: %s", k.Name, i, msg)
			}
		}
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
