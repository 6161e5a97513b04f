package echo

import (
	_ "embed"

	"github.com/stargate-edge/stargate/internal/plugin"
)

//go:embed schema.json
var schemaJSON []byte

// Name is the plugin's name as APISIX spells it.
const Name = "echo"

func init() {
	plugin.Register(plugin.Definition{
		Name:      Name,
		Transient: true,
		Inline:    true,
		Priority:  412,
		Version:   "0.1",
		Schema:    schemaJSON,
		New:       newEcho,
	})
}
