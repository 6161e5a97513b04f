package proxyrewrite

import (
	_ "embed"

	"github.com/stargate-edge/stargate/internal/plugin"
)

//go:embed schema.json
var schemaJSON []byte

// Name is the plugin's name as APISIX spells it.
const Name = "proxy-rewrite"

func init() {
	plugin.Register(plugin.Definition{
		Name:      Name,
		Transient: true,
		Inline:    true,
		Priority:  1008,
		Version:   "0.1",
		Schema:    schemaJSON,
		Check:     Check,
		New:       newRewriter,
	})
}
