package iprestriction

import (
	"errors"

	"github.com/stargate-edge/stargate/internal/plugin/confcheck"
)

// Check validates each entry of whitelist and blacklist as an IP address or CIDR, as
// APISIX does after the schema (whose IPv6 patterns are too loose to catch
// every bad address).
func Check(conf map[string]any) error {
	for _, list := range []string{"whitelist", "blacklist"} {
		addrs, _ := confcheck.Strings(conf, list)
		for _, a := range addrs {
			if !confcheck.ValidIPOrCIDR(a) {
				return errors.New("invalid ip address: " + a)
			}
		}
	}
	return nil
}
