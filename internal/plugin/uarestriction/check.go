package uarestriction

import (
	"github.com/stargate-edge/stargate/internal/plugin/confcheck"
)

// Check compiles every allowlist and denylist entry; APISIX returns the
// regex engine's error unchanged.
func Check(conf map[string]any) error {
	for _, list := range []string{"allowlist", "denylist"} {
		rules, _ := confcheck.Strings(conf, list)
		for _, re := range rules {
			if _, err := confcheck.CompileRegex(re, "j"); err != nil {
				return err
			}
		}
	}
	return nil
}
