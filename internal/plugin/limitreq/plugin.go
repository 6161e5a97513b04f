package limitreq

import (
	_ "embed"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/plugin/limitrule"
)

//go:embed schema.json
var schemaJSON []byte

// Name is the plugin's name as APISIX spells it.
const Name = "limit-req"

func init() {
	plugin.Register(plugin.Definition{
		Name:      Name,
		Transient: true,
		Priority:  1001,
		Version:   "0.1",
		Schema:    schemaJSON,
		Check:     limitrule.CheckUniqueKeys,
		NewEnv:    newLimiter,
	})
}
