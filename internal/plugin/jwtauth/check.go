package jwtauth

import (
	"encoding/base64"
	"errors"
	"strings"

	"github.com/stargate-edge/stargate/internal/plugin/confcheck"
)

// CheckConsumer makes the consumer-side checks of APISIX's jwt-auth
// check_schema, after the consumer schema accepted conf. The plugin
// registry runs Check for route configurations only, so this is exported
// for the consumer/credential validation to call. (For HS384 without a
// secret APISIX generates a random one; that is a default, not an error.)
func CheckConsumer(conf map[string]any) error {
	alg, ok := confcheck.String(conf, "algorithm")
	if !ok {
		alg = "HS256"
	}
	secret, hasSecret := confcheck.String(conf, "secret")
	isHS := strings.HasPrefix(alg, "HS")
	if (alg == "HS256" || alg == "HS512") && !hasSecret {
		return errors.New("property \"secret\" is required when \"algorithm\" is \"HS256\" or \"HS512\"")
	}
	if b64, _ := confcheck.Bool(conf, "base64_secret"); b64 && hasSecret {
		if _, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(secret, "=")); err != nil {
			return errors.New("base64_secret required but the secret is not in base64 format")
		}
	}
	if _, hasKey := confcheck.String(conf, "public_key"); !isHS && !hasKey {
		return errors.New("missing valid public key")
	}
	return nil
}
