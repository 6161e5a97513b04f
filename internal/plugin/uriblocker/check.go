package uriblocker

import (
	"github.com/stargate-edge/stargate/internal/plugin/confcheck"
)

// Check compiles every block rule, as APISIX's check_schema does with
// re_compile(rule, "j"); the regex engine's error is returned unchanged.
func Check(conf map[string]any) error {
	rules, _ := confcheck.Strings(conf, "block_rules")
	for _, re := range rules {
		if _, err := confcheck.CompileRegex(re, "j"); err != nil {
			return err
		}
	}
	return nil
}
