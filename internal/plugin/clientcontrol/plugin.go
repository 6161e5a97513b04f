package clientcontrol

import (
	_ "embed"

	"github.com/stargate-edge/stargate/internal/plugin"
)

//go:embed schema.json
var schemaJSON []byte

// Name is the plugin's name as APISIX spells it.
const Name = "client-control"

func init() {
	plugin.Register(plugin.Definition{
		Name:      Name,
		Transient: true,
		Inline:    true,
		Priority:  22000,
		Version:   "0.1",
		Schema:    schemaJSON,
		New:       newClientControl,
	})
}
