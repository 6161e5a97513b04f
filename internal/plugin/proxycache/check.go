package proxycache

import (
	"fmt"

	"github.com/stargate-edge/stargate/internal/plugin/confcheck"
)

// Check rejects $request_method in cache_key, as APISIX does (the method is
// not part of the key; PURGE must find what GET stored). Whether cache_zone
// names a configured zone of the right kind depends on the static
// configuration and is checked where that is known.
func Check(conf map[string]any) error {
	keys, _ := confcheck.Strings(conf, "cache_key")
	for _, key := range keys {
		if key == "$request_method" {
			return fmt.Errorf("cache_key variable %s unsupported", key)
		}
	}
	return nil
}
