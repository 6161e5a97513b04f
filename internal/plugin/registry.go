package plugin

import (
	"encoding/json"
	"fmt"
	"sort"
	"sync"

	"github.com/stargate-edge/stargate/internal/schema"
)

// Definition declares a plugin. The schemas are JSON Schema documents in
// APISIX's form (draft-07 compatible); ConsumerSchema is for auth plugins'
// consumer/credential config, MetadataSchema for plugin_metadata.
type Definition struct {
	Name     string
	Priority int
	// Version is reported by GET /plugins?all=true (APISIX reports 0.1 to 0.3).
	Version string
	// Type is "auth" for authentication plugins, "" otherwise.
	Type string
	// Scope is "global" for plugins that may only run as global rules.
	Scope string
	// Stream marks plugins that also exist in the stream (L4) subsystem.
	Stream bool
	// IdentityAttr, for auth plugins, is the consumer config field that
	// identifies a consumer (key-auth "key", basic-auth "username", ...):
	// the data plane indexes consumers by it.
	IdentityAttr   string
	Schema         []byte
	ConsumerSchema []byte
	MetadataSchema []byte
	// Check runs cross-field checks the schema cannot express, after the
	// schema accepted conf. It returns a message for error_msg. conf's
	// numbers are json.Number.
	Check func(conf map[string]any) error
	// CheckConsumer is Check for the consumer/credential config of auth
	// plugins.
	CheckConsumer func(conf map[string]any) error
	// New builds the runtime instance. Nil means the plugin is declared
	// (its config validates) but has no runtime in this build: routes
	// using it are kept out of the data plane rather than served without
	// it, so an unimplemented auth plugin never fails open.
	New Factory
	// NewEnv is New for plugins that need an Env; set one of the two.
	NewEnv EnvFactory
	// Metadata, when set, receives the plugin's plugin_metadata object
	// (numbers as json.Number) whenever it changes, nil when deleted.
	Metadata func(conf map[string]any)
	// Transient declares that the plugin keeps nothing of a request once
	// its phase calls return: no goroutine, timer, queue, cache entry or
	// field refers to the Ctx, its Req (header map, value slices, URL,
	// body) or the response writer afterwards (strings copied out are
	// fine: they never change). When every plugin a request runs is
	// transient, the proxy reuses the request's memory for the next one;
	// a plugin that logs, mirrors or caches asynchronously must leave it
	// false.
	Transient bool
	// Inline declares that the plugin's phases never wait: no sleep, no
	// network, disk or subprocess I/O, no waiting for another request or
	// a lock held across I/O (short critical sections are fine). Requests
	// whose plugins are all inline run on the HTTP listener's event loop;
	// any other plugin makes the proxy hand the request to a goroutine
	// first (server.Offload), because a wait would hold up every
	// connection of that loop.
	Inline bool
}

// Registered is a Definition with its schemas compiled.
type Registered struct {
	Definition
	schema         *schema.Schema
	consumerSchema *schema.Schema
	metadataSchema *schema.Schema
}

var (
	mu       sync.RWMutex
	registry = map[string]*Registered{}
)

// metaSchema is APISIX's `_meta` plugin property (plugin.lua inject_conf).
const metaSchema = `{"type":"object","properties":{` +
	`"disable":{"type":"boolean"},` +
	`"error_response":{"oneOf":[{"type":"string"},{"type":"object"}]},` +
	`"priority":{"type":"integer","description":"priority of plugins by customized order"},` +
	`"filter":{"type":"array","description":"filter determines whether the plugin needs to be executed at runtime"},` +
	`"pre_function":{"type":"string","description":"function to be executed in each phase before execution of plugins"}},` +
	`"additionalProperties":false}`

// Register adds a plugin. It panics on an empty or duplicate name or a
// schema that does not compile: both are programming errors found at start.
func Register(d Definition) {
	if d.Name == "" {
		panic("plugin: Register with empty name")
	}
	if d.Version == "" {
		d.Version = "0.1"
	}
	if len(d.Schema) == 0 {
		d.Schema = []byte(`{"type":"object"}`)
	}
	r := &Registered{Definition: d}
	r.schema = schema.MustCompile("plugin/"+d.Name, injectMeta(d.Schema))
	if len(d.ConsumerSchema) > 0 {
		r.consumerSchema = schema.MustCompile("plugin/"+d.Name+"/consumer", d.ConsumerSchema)
	}
	if len(d.MetadataSchema) > 0 {
		r.metadataSchema = schema.MustCompile("plugin/"+d.Name+"/metadata", d.MetadataSchema)
	}
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registry[d.Name]; dup {
		panic("plugin: duplicate registration of " + d.Name)
	}
	registry[d.Name] = r
}

// injectMeta adds the `_meta` property every plugin accepts, as APISIX does
// when it loads a plugin, so that additionalProperties:false schemas still
// accept it.
func injectMeta(doc []byte) []byte {
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		return doc // let Compile report it
	}
	props, _ := m["properties"].(map[string]any)
	if props == nil {
		props = map[string]any{}
		m["properties"] = props
	}
	if _, ok := props["_meta"]; !ok {
		var meta any
		_ = json.Unmarshal([]byte(metaSchema), &meta)
		props["_meta"] = meta
	}
	out, err := json.Marshal(m)
	if err != nil {
		return doc
	}
	return out
}

// Lookup returns a registered plugin.
func Lookup(name string) (*Registered, bool) {
	mu.RLock()
	defer mu.RUnlock()
	r, ok := registry[name]
	return r, ok
}

// All returns every plugin, priority descending (ties by name), the order
// of GET /plugins/list and of execution.
func All() []*Registered {
	mu.RLock()
	out := make([]*Registered, 0, len(registry))
	for _, r := range registry {
		out = append(out, r)
	}
	mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Priority != out[j].Priority {
			return out[i].Priority > out[j].Priority
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// SchemaType selects which of a plugin's schemas to use.
type SchemaType int

// Schema types, as APISIX's `schema_type` query parameter names them.
const (
	SchemaRoute SchemaType = iota
	SchemaConsumer
	SchemaMetadata
)

// Schema returns the requested schema document, or nil when the plugin has
// none of that type.
func (r *Registered) Schema(t SchemaType) *schema.Schema {
	switch t {
	case SchemaConsumer:
		return r.consumerSchema
	case SchemaMetadata:
		return r.metadataSchema
	}
	return r.schema
}

// Validate checks one plugin's configuration and returns an error worded as
// APISIX words it after "failed to check the configuration of plugin X err: ".
func (r *Registered) Validate(conf any, t SchemaType) error {
	s := r.Schema(t)
	if s == nil {
		if t == SchemaConsumer {
			return fmt.Errorf("plugin %s has no consumer schema", r.Name)
		}
		return fmt.Errorf("plugin %s has no metadata schema", r.Name)
	}
	if err := s.Validate(conf); err != nil {
		return err
	}
	check := r.Check
	if t == SchemaConsumer {
		check = r.CheckConsumer
	} else if t == SchemaMetadata {
		check = nil
	}
	if check != nil {
		if m, ok := conf.(map[string]any); ok {
			return check(m)
		}
	}
	return nil
}
