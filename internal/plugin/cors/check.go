package cors

import (
	"errors"

	"github.com/stargate-edge/stargate/internal/plugin/confcheck"
)

// Check makes the checks of APISIX's cors check_schema: with
// allow_credential no option may be "*" (allow_origins, allow_methods and
// allow_headers default to "*", so they must be set explicitly), and the
// origin regexes compile.
func Check(conf map[string]any) error {
	if cred, _ := confcheck.Bool(conf, "allow_credential"); cred {
		for _, opt := range []struct {
			name string
			def  string
		}{
			{"allow_origins", "*"}, {"allow_methods", "*"}, {"allow_headers", "*"},
			{"expose_headers", ""}, {"timing_allow_origins", ""},
		} {
			v, ok := confcheck.String(conf, opt.name)
			if !ok {
				v = opt.def
			}
			if v == "*" {
				return errors.New("you can not set '*' for other option when 'allow_credential' is true")
			}
		}
	}
	for _, list := range []string{"allow_origins_by_regex", "timing_allow_origins_by_regex"} {
		rules, _ := confcheck.Strings(conf, list)
		for _, re := range rules {
			if _, err := confcheck.CompileRegex(re, "j"); err != nil {
				return err
			}
		}
	}
	return nil
}
