package limitconn

import (
	"fmt"

	"github.com/stargate-edge/stargate/internal/plugin/confcheck"
)

// Check makes the cross-field check of APISIX's check_schema: two rules
// may not share a key, since they would share one counter.
func Check(conf map[string]any) error {
	rules, _ := confcheck.Objects(conf, "rules")
	seen := map[string]bool{}
	for _, rule := range rules {
		key, _ := confcheck.String(rule, "key")
		if seen[key] {
			return fmt.Errorf("duplicate key '%s' in rules", key)
		}
		seen[key] = true
	}
	return nil
}
