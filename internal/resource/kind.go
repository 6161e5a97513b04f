package resource

import (
	"embed"
	"fmt"
	"sort"
	"sync"

	"github.com/stargate-edge/stargate/internal/schema"
)

//go:embed schemas/*.json
var schemaFS embed.FS

// Ref is a field that names another object, checked on write (the target
// must exist) and on the target's delete (it may not be deleted while used).
type Ref struct {
	// Field is the top-level field holding the referenced id.
	Field string
	// Kind is the URL name of the referenced kind ("upstreams").
	Kind string
}

// Kind describes one resource type of the admin API.
type Kind struct {
	// Name is the URL segment and the store directory ("routes").
	Name string
	// Label is APISIX's word for one object in messages ("route",
	// "global rule"): "missing route id", "not supported `POST` method for
	// global rule".
	Label string
	// Prefix is the store key prefix, without the trailing slash.
	Prefix string
	// SchemaName names the embedded schema file (schemas/<name>.json); empty
	// for kinds validated another way (plugin_metadata).
	SchemaName string
	// IDField is the body field that carries the id ("id", or "username"
	// for consumers).
	IDField string
	// IDPattern is the message-bearing ID rule: consumers differ.
	NoPost, NoPatch, NoPut bool
	// Refs are the outgoing references checked on write.
	Refs []Ref
	// ListFilterFields are the exact-match fields of `filter=` (3.13+).
	ListFilterFields []string
	// Searchable are the fields `name=`/`uri=` regex filters look at.
	HasURI bool
}

var (
	kindsMu sync.Once
	kinds   map[string]*Kind
	schemas map[string]*schema.Schema
)

// all is the table of admin resources (APISIX resource.lua and the spec's
// section 1).
var all = []*Kind{
	{Name: "routes", Label: "route", Prefix: "/apisix/routes", SchemaName: "route", IDField: "id",
		Refs:             []Ref{{"upstream_id", "upstreams"}, {"service_id", "services"}, {"plugin_config_id", "plugin_configs"}},
		ListFilterFields: []string{"service_id", "upstream_id"}, HasURI: true},
	{Name: "services", Label: "service", Prefix: "/apisix/services", SchemaName: "service", IDField: "id",
		Refs: []Ref{{"upstream_id", "upstreams"}}},
	{Name: "upstreams", Label: "upstream", Prefix: "/apisix/upstreams", SchemaName: "upstream", IDField: "id"},
	{Name: "consumers", Label: "consumer", Prefix: "/apisix/consumers", SchemaName: "consumer", IDField: "username",
		NoPost: true, NoPatch: true, Refs: []Ref{{"group_id", "consumer_groups"}}},
	{Name: "ssls", Label: "ssl", Prefix: "/apisix/ssls", SchemaName: "ssl", IDField: "id"},
	{Name: "global_rules", Label: "global rule", Prefix: "/apisix/global_rules", SchemaName: "global_rule", IDField: "id", NoPost: true},
	{Name: "plugin_configs", Label: "plugin config", Prefix: "/apisix/plugin_configs", SchemaName: "plugin_config", IDField: "id", NoPost: true},
	{Name: "consumer_groups", Label: "consumer group", Prefix: "/apisix/consumer_groups", SchemaName: "consumer_group", IDField: "id", NoPost: true},
	{Name: "plugin_metadata", Label: "plugin metadata", Prefix: "/apisix/plugin_metadata", IDField: "id", NoPost: true, NoPatch: true},
	{Name: "stream_routes", Label: "stream route", Prefix: "/apisix/stream_routes", SchemaName: "stream_route", IDField: "id", NoPatch: true,
		Refs:             []Ref{{"upstream_id", "upstreams"}, {"service_id", "services"}},
		ListFilterFields: []string{"service_id", "upstream_id"}},
	{Name: "protos", Label: "proto", Prefix: "/apisix/protos", SchemaName: "proto", IDField: "id"},
	{Name: "secrets", Label: "secret", Prefix: "/apisix/secrets", IDField: "id", NoPost: true},
}

// Credentials live under their consumer: /apisix/consumers/<u>/credentials/<id>.
var Credentials = &Kind{Name: "credentials", Label: "credential", SchemaName: "credential", IDField: "id", NoPost: true, NoPatch: true}

func load() {
	kindsMu.Do(func() {
		kinds = map[string]*Kind{}
		for _, k := range all {
			kinds[k.Name] = k
		}
		schemas = map[string]*schema.Schema{}
		entries, err := schemaFS.ReadDir("schemas")
		if err != nil {
			panic(fmt.Sprintf("resource: read embedded schemas: %v", err))
		}
		for _, e := range entries {
			b, err := schemaFS.ReadFile("schemas/" + e.Name())
			if err != nil {
				panic(fmt.Sprintf("resource: read %s: %v", e.Name(), err))
			}
			name := e.Name()[:len(e.Name())-len(".json")]
			schemas[name] = schema.MustCompile("resource/"+name, b)
		}
	})
}

// Lookup returns the kind served at /{name}.
func Lookup(name string) (*Kind, bool) {
	load()
	k, ok := kinds[name]
	return k, ok
}

// Kinds returns every top-level kind in a stable order.
func Kinds() []*Kind {
	load()
	out := append([]*Kind(nil), all...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Schema returns a resource schema by its schema name ("route",
// "secret_vault", "credential").
func Schema(name string) (*schema.Schema, bool) {
	load()
	s, ok := schemas[name]
	return s, ok
}

// SchemaNames lists the embedded schema names.
func SchemaNames() []string {
	load()
	out := make([]string, 0, len(schemas))
	for n := range schemas {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Key is the store key of an object of this kind.
func (k *Kind) Key(id string) string { return k.Prefix + "/" + id }
