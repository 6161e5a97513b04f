package schema_test

import (
	"testing"

	"github.com/stargate-edge/stargate/internal/schema"
)

const doc = `{
  "type": "object",
  "properties": {
    "id": {"anyOf": [{"type": "string", "pattern": "^[a-z]+$"}, {"type": "integer", "minimum": 1}]},
    "uri": {"type": "string", "minLength": 1, "maxLength": 8},
    "n": {"type": "integer", "minimum": 1, "maximum": 10},
    "x": {"type": "number", "exclusiveMinimum": 0},
    "methods": {"type": "array", "items": {"enum": ["GET", "POST"]}, "uniqueItems": true, "minItems": 1},
    "nested": {"type": "object", "properties": {"a": {"type": "boolean"}}, "required": ["a"], "additionalProperties": false},
    "list": {"type": "array", "items": {"type": "object", "properties": {"k": {"type": "string"}}}},
    "one": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
    "ip": {"type": "string", "format": "ipv4"},
    "policy": {"type": "string", "enum": ["local", "redis"], "default": "local"},
    "redis_host": {"type": "string"}
  },
  "required": ["uri"],
  "additionalProperties": false,
  "if": {"properties": {"policy": {"enum": ["redis"]}}},
  "then": {"required": ["redis_host"]}
}`

func TestMessages(t *testing.T) {
	s := schema.MustCompile("test", []byte(doc))
	for _, c := range []struct {
		desc, in, want string
	}{
		{"valid", `{"uri":"/a"}`, ""},
		{"wrong type", `{"uri":1}`, `property "uri" validation failed: wrong type: expected string, got number`},
		{"required", `{}`, `property "uri" is required`},
		{"additional", `{"uri":"/a","zzz":1}`, `additional properties forbidden, found zzz`},
		{"too long", `{"uri":"/aaaaaaaaaa"}`, `property "uri" validation failed: string too long, expected at most 8, got 11`},
		{"too short", `{"uri":""}`, `property "uri" validation failed: string too short, expected at least 1, got 0`},
		{"minimum", `{"uri":"/a","n":0}`, `property "n" validation failed: expected 0 to be greater than 1`},
		{"maximum", `{"uri":"/a","n":11}`, `property "n" validation failed: expected 11 to be smaller than 10`},
		{"exclusive", `{"uri":"/a","x":0}`, `property "x" validation failed: expected 0 to be strictly greater than 0`},
		{"enum in array", `{"uri":"/a","methods":["GET","NOPE"]}`, `property "methods" validation failed: failed to validate item 2: matches none of the enum values`},
		{"unique", `{"uri":"/a","methods":["GET","GET"]}`, `property "methods" validation failed: expected unique items but items 1 and 2 are equal`},
		{"min items", `{"uri":"/a","methods":[]}`, `property "methods" validation failed: expect array to have at least 1 items`},
		{"nested required", `{"uri":"/a","nested":{}}`, `property "nested" validation failed: property "a" is required`},
		{"nested additional", `{"uri":"/a","nested":{"a":true,"b":1}}`, `property "nested" validation failed: additional properties forbidden, found b`},
		{"array of objects", `{"uri":"/a","list":[{"k":"a"},{"k":1}]}`, `property "list" validation failed: failed to validate item 2: property "k" validation failed: wrong type: expected string, got number`},
		{"anyOf", `{"uri":"/a","id":"A B"}`, `property "id" validation failed: object matches none of the required`},
		{"oneOf none", `{"uri":"/a","one":true}`, `property "one" validation failed: value should match only one schema, but matches none`},
		{"format", `{"uri":"/a","ip":"999.1.1.1"}`, `property "ip" validation failed: expected valid "ipv4", got "999.1.1.1"`},
		{"property errors before compound ones", `{"uri":1,"id":"A B"}`, `property "uri" validation failed: wrong type: expected string, got number`},
		{"default feeds if/then", `{"uri":"/a"}`, ""},
		{"if/then with value", `{"uri":"/a","policy":"redis"}`, `property "redis_host" is required`},
	} {
		t.Run(c.desc, func(t *testing.T) {
			v, err := schema.Decode([]byte(c.in))
			if err != nil {
				t.Fatal(err)
			}
			err = s.Validate(v)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

// TestValidateDoesNotModify: defaults are injected into a copy only;
// Stargate stores what the client sent.
func TestValidateDoesNotModify(t *testing.T) {
	s := schema.MustCompile("test", []byte(doc))
	v, _ := schema.Decode([]byte(`{"uri":"/a"}`))
	if err := s.Validate(v); err != nil {
		t.Fatal(err)
	}
	if _, has := v.(map[string]any)["policy"]; has {
		t.Error("Validate wrote a default into the caller's document")
	}
}

// FuzzValidate: any JSON value against a schema with every keyword kind
// produces nil or a message, never a panic.
func FuzzValidate(f *testing.F) {
	s := schema.MustCompile("test", []byte(doc))
	for _, seed := range []string{`{}`, `[]`, `{"uri":1,"list":[{"k":[]}]}`, `{"id":0}`, `null`, `{"methods":[1,2,{}]}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := schema.Decode(b)
		if err != nil {
			return
		}
		if err := s.Validate(v); err != nil && err.Error() == "" {
			t.Fatal("empty error message")
		}
	})
}
