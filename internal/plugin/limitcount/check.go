package limitcount

import (
	"errors"

	"github.com/stargate-edge/stargate/internal/plugin/confcheck"
	"github.com/stargate-edge/stargate/internal/plugin/limitrule"
)

// noDelayedSync is APISIX's NO_DELAYED_SYNC, the default sync_interval.
const noDelayedSync = -1

// Check makes the cross-field checks of APISIX's limit-count check_schema
// that do not need other routes' configuration. (APISIX also rejects a
// group whose configuration differs from the group's first user with
// "group conf mismatched"; that needs every route and is left to the
// layer that sees them.)
func Check(conf map[string]any) error {
	_, hasRules := confcheck.Objects(conf, "rules")
	_, hasCount := conf["count"]
	_, hasWindow := conf["time_window"]
	if hasRules && (hasCount || hasWindow) {
		return errors.New("count/time_window and rules cannot be specified at the same time")
	}
	if _, hasGroup := conf["group"]; hasGroup && hasRules {
		return errors.New("group and rules cannot be specified at the same time")
	}

	switch policy, _ := confcheck.String(conf, "policy"); policy {
	case "redis", "redis-cluster", "redis-sentinel":
		sync := float64(noDelayedSync)
		if v, ok := confcheck.Number(conf["sync_interval"]); ok {
			sync = v
		}
		if sync != noDelayedSync {
			if sync < 0.1 {
				return errors.New("sync_interval should not be smaller than 0.1")
			}
			if window, ok := confcheck.Number(conf["time_window"]); ok && sync >= window {
				return errors.New("sync_interval should be smaller than time_window")
			}
		}
	}

	return limitrule.CheckUniqueKeys(conf)
}
