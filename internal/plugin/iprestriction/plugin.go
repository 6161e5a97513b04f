package iprestriction

import (
	_ "embed"

	"github.com/stargate-edge/stargate/internal/plugin"
)

//go:embed schema.json
var schemaJSON []byte

// Name is the plugin's name as APISIX spells it.
const Name = "ip-restriction"

func init() {
	plugin.Register(plugin.Definition{
		Name:      Name,
		Transient: true,
		Inline:    true,
		Priority:  3000,
		Version:   "0.1",
		Stream:    true,
		Schema:    schemaJSON,
		Check:     Check,
		New:       newRestriction,
	})
}
