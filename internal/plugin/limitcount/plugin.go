package limitcount

import (
	_ "embed"

	"github.com/stargate-edge/stargate/internal/plugin"
)

//go:embed schema.json
var schemaJSON []byte

//go:embed metadata_schema.json
var metadataSchemaJSON []byte

// Name is the plugin's name as APISIX spells it.
const Name = "limit-count"

func init() {
	plugin.Register(plugin.Definition{
		Name:           Name,
		Transient:      true,
		Inline:         true,
		Priority:       1002,
		Version:        "0.5",
		Schema:         schemaJSON,
		MetadataSchema: metadataSchemaJSON,
		Check:          Check,
		NewEnv:         newLimiter,
		Metadata:       setMetadata,
	})
}
