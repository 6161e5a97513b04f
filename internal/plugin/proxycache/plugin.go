package proxycache

import (
	_ "embed"

	"github.com/stargate-edge/stargate/internal/plugin"
)

//go:embed schema.json
var schemaJSON []byte

// Name is the plugin's name as APISIX spells it.
const Name = "proxy-cache"

func init() {
	plugin.Register(plugin.Definition{
		Name: Name,
		// Respond waits (origin, collapsed misses) but only off the event
		// loop: the proxy runs it through server.Offload unless
		// RespondInline answered (a fresh hit).
		Inline:   true,
		Priority: 1085,
		Version:  "0.2",
		Schema:   schemaJSON,
		Check:    Check,
		New:      newCacher,
	})
}
