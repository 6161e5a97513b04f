package realip

import (
	_ "embed"

	"github.com/stargate-edge/stargate/internal/plugin"
)

//go:embed schema.json
var schemaJSON []byte

// Name is the plugin's name as APISIX spells it.
const Name = "real-ip"

func init() {
	plugin.Register(plugin.Definition{
		Name:      Name,
		Transient: true,
		Inline:    true,
		Priority:  23000,
		Version:   "0.1",
		Schema:    schemaJSON,
		Check:     Check,
		New:       newRealIP,
	})
}
