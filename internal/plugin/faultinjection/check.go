package faultinjection

import (
	"errors"
	"strings"

	"github.com/stargate-edge/stargate/internal/plugin/confcheck"
	"github.com/stargate-edge/stargate/internal/vars"
)

// Check makes APISIX's check_schema test: every abort.vars and delay.vars
// item must be a valid expression. APISIX reports lua-resty-expr's error
// as is.
func Check(conf map[string]any) error {
	for _, part := range []string{"abort", "delay"} {
		m, ok := confcheck.Object(conf, part)
		if !ok {
			continue
		}
		list, _ := m["vars"].([]any)
		for _, x := range list {
			if _, err := vars.Compile(x); err != nil {
				return errors.New(strings.TrimPrefix(err.Error(), "failed to validate the 'vars' expression: "))
			}
		}
	}
	return nil
}
