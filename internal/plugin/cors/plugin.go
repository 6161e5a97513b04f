package cors

import (
	_ "embed"

	"github.com/stargate-edge/stargate/internal/plugin"
)

//go:embed schema.json
var schemaJSON []byte

//go:embed metadata_schema.json
var metadataSchemaJSON []byte

// Name is the plugin's name as APISIX spells it.
const Name = "cors"

func init() {
	plugin.Register(plugin.Definition{
		Name:           Name,
		Transient:      true,
		Inline:         true,
		Priority:       4000,
		Version:        "0.1",
		Schema:         schemaJSON,
		MetadataSchema: metadataSchemaJSON,
		Check:          Check,
		New:            newCORS,
	})
}
