package uarestriction

import (
	_ "embed"

	"github.com/stargate-edge/stargate/internal/plugin"
)

//go:embed schema.json
var schemaJSON []byte

// Name is the plugin's name as APISIX spells it.
const Name = "ua-restriction"

func init() {
	plugin.Register(plugin.Definition{
		Name:      Name,
		Transient: true,
		Inline:    true,
		Priority:  2999,
		Version:   "0.1",
		Schema:    schemaJSON,
		Check:     Check,
		New:       newRestriction,
	})
}
