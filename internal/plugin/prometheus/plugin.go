package prometheus

import (
	_ "embed"

	"github.com/stargate-edge/stargate/internal/plugin"
)

//go:embed schema.json
var schemaJSON []byte

// Name is the plugin's name as APISIX spells it.
const Name = "prometheus"

func init() {
	plugin.Register(plugin.Definition{
		Name:      Name,
		Transient: true,
		Inline:    true,
		Priority:  500,
		Version:   "0.2",
		Stream:    true,
		Schema:    schemaJSON,
		New:       newExporter,
	})
}
