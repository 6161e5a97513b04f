package apibreaker

import (
	_ "embed"

	"github.com/stargate-edge/stargate/internal/plugin"
)

//go:embed schema.json
var schemaJSON []byte

// Name is the plugin's name as APISIX spells it.
const Name = "api-breaker"

func init() {
	plugin.Register(plugin.Definition{
		Name:      Name,
		Transient: true,
		Inline:    true,
		Priority:  1005,
		Version:   "0.1",
		Schema:    schemaJSON,
		NewEnv:    newBreaker,
	})
}
