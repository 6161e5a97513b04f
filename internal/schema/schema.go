package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// Schema is a compiled JSON Schema together with its source document.
type Schema struct {
	raw      json.RawMessage
	compiled *jsonschema.Schema
	doc      any // the parsed document, for default injection
}

// ValidationError is a document that does not satisfy its schema. Msg is
// worded as lua-resty-jsonschema words it, so it can be put into an APISIX
// error_msg unchanged.
type ValidationError struct {
	Msg string
}

func (e *ValidationError) Error() string { return e.Msg }

// Compile parses and compiles a schema document. name only labels errors.
// The draft defaults to draft-07 when the document has no $schema.
func Compile(name string, doc []byte) (*Schema, error) {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return nil, fmt.Errorf("schema %s: parse: %w", name, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	// APISIX's validator checks formats (ipv4, ipv6, ...); so do we.
	c.AssertFormat()
	url := "mem:///" + name + ".json"
	if err := c.AddResource(url, v); err != nil {
		return nil, fmt.Errorf("schema %s: %w", name, err)
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("schema %s: compile: %w", name, err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, doc); err != nil {
		return nil, fmt.Errorf("schema %s: %w", name, err)
	}
	return &Schema{raw: compact.Bytes(), compiled: s, doc: v}, nil
}

// MustCompile is Compile for schemas embedded in the binary, where an error
// is a programming mistake.
func MustCompile(name string, doc []byte) *Schema {
	s, err := Compile(name, doc)
	if err != nil {
		panic(err)
	}
	return s
}

// Raw returns the schema document, compacted.
func (s *Schema) Raw() json.RawMessage { return s.raw }

// Decode parses JSON into the generic form Validate expects (numbers kept
// exact as json.Number).
func Decode(data []byte) (any, error) {
	return jsonschema.UnmarshalJSON(bytes.NewReader(data))
}

// Validate checks a document decoded by Decode (or any value built from
// map[string]any, []any, string, bool, json.Number, float64, int and nil).
// It returns nil or a *ValidationError.
//
// Like APISIX, it validates a copy of doc with the schema's defaults filled
// in (lua-resty-jsonschema injects them while validating), so conditional
// rules such as "if policy is redis then redis_host is required" see
// policy's default. doc itself is not modified: Stargate stores what the
// client sent.
func (s *Schema) Validate(doc any) error {
	doc = WithDefaults(s.doc, DeepCopy(doc))
	err := s.compiled.Validate(doc)
	if err == nil {
		return nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return &ValidationError{Msg: err.Error()}
	}
	return &ValidationError{Msg: describe(ve, doc)}
}

// ValidateJSON decodes and validates raw JSON.
func (s *Schema) ValidateJSON(data []byte) error {
	doc, err := Decode(data)
	if err != nil {
		return &ValidationError{Msg: "invalid JSON: " + err.Error()}
	}
	return s.Validate(doc)
}

// describe picks the first failing leaf of the error tree and words it the
// way lua-resty-jsonschema would, prefixed by the path to it.
func describe(ve *jsonschema.ValidationError, doc any) string {
	leaf := firstLeaf(ve)
	return prefix(leaf.InstanceLocation, doc) + leafMessage(leaf)
}

// firstLeaf descends to the error to report. oneOf/anyOf/not are reported
// as a whole, as the Lua validator does, instead of descending into the
// branch that happened to fail last.
func firstLeaf(ve *jsonschema.ValidationError) *jsonschema.ValidationError {
	for {
		switch ve.ErrorKind.(type) {
		case *kind.OneOf, *kind.AnyOf, *kind.Not:
			return ve
		}
		if len(ve.Causes) == 0 {
			return ve
		}
		causes := append([]*jsonschema.ValidationError(nil), ve.Causes...)
		// Shallowest instance location first, then required/type before
		// deeper property problems: the Lua validator checks the object's
		// own keywords before walking its properties.
		sort.SliceStable(causes, func(i, j int) bool {
			return rank(causes[i]) < rank(causes[j])
		})
		ve = causes[0]
	}
}

// rank orders sibling errors the way lua-resty-jsonschema's generated
// validator meets them: type, required, then the properties' own errors,
// additionalProperties, and the compound keywords (anyOf, oneOf, not, if)
// last. Shallower locations win ties.
func rank(e *jsonschema.ValidationError) int {
	r := 0
	switch e.ErrorKind.(type) {
	case *kind.Type:
		r = 0
	case *kind.Required:
		r = 1000
	case *kind.AdditionalProperties:
		r = 3000
	case *kind.OneOf, *kind.AnyOf, *kind.AllOf, *kind.Not:
		r = 4000
	default:
		r = 2000
	}
	return r + len(e.InstanceLocation)
}

// prefix renders the instance path: `property "a" validation failed: ` for
// object members, `failed to validate item N: ` (1-based) for array items.
func prefix(loc []string, doc any) string {
	var b strings.Builder
	cur := doc
	for _, seg := range loc {
		switch v := cur.(type) {
		case []any:
			i, _ := strconv.Atoi(seg)
			fmt.Fprintf(&b, "failed to validate item %d: ", i+1)
			if i >= 0 && i < len(v) {
				cur = v[i]
			} else {
				cur = nil
			}
		case map[string]any:
			fmt.Fprintf(&b, "property %q validation failed: ", seg)
			cur = v[seg]
		default:
			fmt.Fprintf(&b, "property %q validation failed: ", seg)
			cur = nil
		}
	}
	return b.String()
}

func leafMessage(e *jsonschema.ValidationError) string {
	switch k := e.ErrorKind.(type) {
	case *kind.Type:
		return fmt.Sprintf("wrong type: expected %s, got %s", strings.Join(k.Want, " or "), luaType(k.Got))
	case *kind.Required:
		// Lua reports the first missing property alone, and without the
		// "validation failed" prefix for the property itself.
		return fmt.Sprintf("property %q is required", k.Missing[0])
	case *kind.AdditionalProperties:
		return "additional properties forbidden, found " + k.Properties[0]
	case *kind.MinLength:
		return fmt.Sprintf("string too short, expected at least %d, got %d", k.Want, k.Got)
	case *kind.MaxLength:
		return fmt.Sprintf("string too long, expected at most %d, got %d", k.Want, k.Got)
	case *kind.Pattern:
		return fmt.Sprintf("failed to match pattern %q with %q", k.Want, k.Got)
	case *kind.Enum:
		return "matches none of the enum values"
	case *kind.Const:
		return "value should be " + jsonString(k.Want)
	case *kind.Minimum:
		return fmt.Sprintf("expected %s to be greater than %s", rat(k.Got), rat(k.Want))
	case *kind.Maximum:
		return fmt.Sprintf("expected %s to be smaller than %s", rat(k.Got), rat(k.Want))
	case *kind.ExclusiveMinimum:
		return fmt.Sprintf("expected %s to be strictly greater than %s", rat(k.Got), rat(k.Want))
	case *kind.ExclusiveMaximum:
		return fmt.Sprintf("expected %s to be strictly smaller than %s", rat(k.Got), rat(k.Want))
	case *kind.MultipleOf:
		return fmt.Sprintf("expected %s to be a multiple of %s", rat(k.Got), rat(k.Want))
	case *kind.MinItems:
		return fmt.Sprintf("expect array to have at least %d items", k.Want)
	case *kind.MaxItems:
		return fmt.Sprintf("expect array to have at most %d items", k.Want)
	case *kind.UniqueItems:
		return fmt.Sprintf("expected unique items but items %d and %d are equal", k.Duplicates[0]+1, k.Duplicates[1]+1)
	case *kind.MinProperties:
		return fmt.Sprintf("expect object to have at least %d properties", k.Want)
	case *kind.MaxProperties:
		return fmt.Sprintf("expect object to have at most %d properties", k.Want)
	case *kind.OneOf:
		if len(k.Subschemas) >= 2 {
			return fmt.Sprintf("value should match only one schema, but matches both schemas %d and %d", k.Subschemas[0]+1, k.Subschemas[1]+1)
		}
		return "value should match only one schema, but matches none"
	case *kind.AnyOf:
		return "object matches none of the required"
	case *kind.Not:
		return "value wasn't supposed to match schema"
	case *kind.Dependency:
		return fmt.Sprintf("property %q is required when %q is set", k.Missing[0], k.Prop)
	case *kind.DependentRequired:
		return fmt.Sprintf("property %q is required when %q is set", k.Missing[0], k.Prop)
	case *kind.FalseSchema:
		return "expect false always"
	case *kind.Format:
		return fmt.Sprintf("expected valid %q, got %s", k.Want, jsonString(k.Got))
	}
	return e.ErrorKind.LocalizedString(nil)
}

// luaType names JSON types as the Lua validator does: integers are
// "number" there too.
func luaType(t string) string {
	switch t {
	case "integer":
		return "number"
	case "array":
		return "array"
	case "null":
		return "null"
	}
	return t
}

func rat(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func jsonString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// WithDefaults fills into inst, in place, the properties it lacks that
// the schema document root gives a "default", as lua-resty-jsonschema
// does while it validates, and returns inst. root is a schema document as
// Decode returns it; the defaults are copied, so inst never aliases it.
// Validate applies it to a copy of what it checks; request-validation
// applies it to the body it forwards.
func WithDefaults(root, inst any) any { return withDefaults(root, root, inst, 0) }

// withDefaults walks properties, items and local $refs. Compound keywords
// are not followed: their defaults would depend on which branch applies.
func withDefaults(root, node, inst any, depth int) any {
	sm, ok := node.(map[string]any)
	if !ok || depth > 32 {
		return inst
	}
	if ref, ok := sm["$ref"].(string); ok {
		return withDefaults(root, resolve(root, ref), inst, depth+1)
	}
	switch v := inst.(type) {
	case map[string]any:
		props, _ := sm["properties"].(map[string]any)
		for name, ps := range props {
			if _, present := v[name]; !present {
				if psm, ok := ps.(map[string]any); ok {
					if d, ok := psm["default"]; ok {
						v[name] = DeepCopy(d)
					}
				}
			}
			if child, present := v[name]; present {
				v[name] = withDefaults(root, ps, child, depth+1)
			}
		}
	case []any:
		if items, ok := sm["items"].(map[string]any); ok {
			for i := range v {
				v[i] = withDefaults(root, items, v[i], depth+1)
			}
		}
	}
	return inst
}

// resolve follows a local JSON pointer reference ("#/definitions/x").
func resolve(root any, ref string) any {
	p, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		if ref == "#" {
			return root
		}
		return nil
	}
	cur := root
	for _, seg := range strings.Split(p, "/") {
		seg = strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[seg]
	}
	return cur
}

// DeepCopy copies a decoded JSON value (maps, slices and scalars as
// Decode returns them), so that changing the copy, by filling in defaults
// or merging a patch, never changes stored or shared data.
func DeepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = DeepCopy(e)
		}
		return m
	case []any:
		a := make([]any, len(t))
		for i, e := range t {
			a[i] = DeepCopy(e)
		}
		return a
	}
	return v
}
