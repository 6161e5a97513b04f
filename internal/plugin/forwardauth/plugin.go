package forwardauth

import (
	_ "embed"

	"github.com/stargate-edge/stargate/internal/plugin"
)

//go:embed schema.json
var schemaJSON []byte

// Name is the plugin's name as APISIX spells it.
const Name = "forward-auth"

func init() {
	plugin.Register(plugin.Definition{
		Name:     Name,
		Priority: 2002,
		Version:  "0.1",
		Schema:   schemaJSON,
		New:      newForwardAuth,
	})
}
