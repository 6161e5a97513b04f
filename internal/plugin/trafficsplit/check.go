package trafficsplit

import (
	"github.com/stargate-edge/stargate/internal/plugin/confcheck"
	"github.com/stargate-edge/stargate/internal/vars"
)

// Check makes APISIX's check_schema test: every match's vars must be a
// valid expression ("failed to validate the 'vars' expression: ...").
func Check(conf map[string]any) error {
	rules, _ := confcheck.Objects(conf, "rules")
	for _, rule := range rules {
		matches, _ := confcheck.Objects(rule, "match")
		for _, m := range matches {
			if _, err := vars.Compile(m["vars"]); err != nil {
				return err
			}
		}
	}
	return nil
}
