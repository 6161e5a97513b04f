package proxymirror

import (
	_ "embed"

	"github.com/stargate-edge/stargate/internal/plugin"
)

//go:embed schema.json
var schemaJSON []byte

// Name is the plugin's name as APISIX spells it.
const Name = "proxy-mirror"

func init() {
	plugin.Register(plugin.Definition{
		Name:     Name,
		Inline:   true,
		Priority: 1010,
		Version:  "0.1",
		Schema:   schemaJSON,
		New:      newMirror,
	})
}
