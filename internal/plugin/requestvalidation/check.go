package requestvalidation

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/stargate-edge/stargate/internal/schema"
)

// Check compiles header_schema and body_schema, as APISIX does with
// core.schema.valid, so that a schema that cannot validate anything is
// refused when the route is written rather than on every request.
func Check(conf map[string]any) error {
	for _, field := range []string{"body_schema", "header_schema"} {
		doc, ok := conf[field]
		if !ok {
			continue
		}
		raw, err := json.Marshal(doc)
		if err != nil {
			return errors.New(field + ": " + err.Error())
		}
		if _, err := schema.Compile(field, raw); err != nil {
			return errors.New(field + " is not a valid JSON Schema: " + reason(err))
		}
	}
	return nil
}

// reason condenses the compiler's multi-line report to its innermost line.
func reason(err error) string {
	lines := strings.Split(strings.TrimSpace(err.Error()), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	return strings.TrimPrefix(last, "- ")
}
