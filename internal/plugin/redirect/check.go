package redirect

import (
	"errors"
	"fmt"

	"github.com/stargate-edge/stargate/internal/plugin/confcheck"
)

// Check makes the checks of APISIX's redirect check_schema: regex_uri's
// regex compiles, and http_to_https excludes append_query_string. (The
// schema's oneOf already demands exactly one of uri, regex_uri and
// http_to_https.)
func Check(conf map[string]any) error {
	if re, ok := confcheck.Strings(conf, "regex_uri"); ok && len(re) == 2 {
		if _, err := confcheck.CompileRegex(re[0], "jo"); err != nil {
			return fmt.Errorf("invalid regex_uri (%s, %s), err:%s", re[0], re[1], err)
		}
	}
	toHTTPS, _ := confcheck.Bool(conf, "http_to_https")
	appendQS, _ := confcheck.Bool(conf, "append_query_string")
	if toHTTPS && appendQS {
		return errors.New("only one of `http_to_https` and `append_query_string` can be configured.")
	}
	return nil
}
