package httplogger

import (
	_ "embed"

	"github.com/stargate-edge/stargate/internal/plugin"
)

//go:embed schema.json
var schemaJSON []byte

//go:embed metadata_schema.json
var metadataSchemaJSON []byte

// Name is the plugin's name as APISIX spells it.
const Name = "http-logger"

func init() {
	plugin.Register(plugin.Definition{
		Name:           Name,
		Inline:         true,
		Priority:       410,
		Version:        "0.1",
		Schema:         schemaJSON,
		MetadataSchema: metadataSchemaJSON,
		Check:          check,
		NewEnv:         newLogger,
		Metadata:       SetMetadata,
	})
}
