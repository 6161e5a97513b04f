package limitconn

import (
	_ "embed"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/plugin/limitrule"
)

//go:embed schema.json
var schemaJSON []byte

// Name is the plugin's name as APISIX spells it.
const Name = "limit-conn"

func init() {
	plugin.Register(plugin.Definition{
		Name:     Name,
		Priority: 1003,
		Version:  "0.1",
		Stream:   true,
		Schema:   schemaJSON,
		Check:    limitrule.CheckUniqueKeys,
		NewEnv:   newLimiter,
	})
}
