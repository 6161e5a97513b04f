package jwtauth

import (
	_ "embed"

	"github.com/stargate-edge/stargate/internal/plugin"
)

//go:embed schema.json
var schemaJSON []byte

//go:embed consumer_schema.json
var consumerSchemaJSON []byte

// Name is the plugin's name as APISIX spells it.
const Name = "jwt-auth"

func init() {
	plugin.Register(plugin.Definition{
		Name:           Name,
		Transient:      true,
		Inline:         true,
		Priority:       2510,
		Version:        "0.1",
		Type:           "auth",
		Schema:         schemaJSON,
		ConsumerSchema: consumerSchemaJSON,
		CheckConsumer:  CheckConsumer,
		IdentityAttr:   "key",
		New:            newJWTAuth,
	})
}
