package proxyrewrite

import (
	"errors"
	"sort"

	"github.com/stargate-edge/stargate/internal/plugin/confcheck"
)

// Check makes the checks of APISIX's proxy-rewrite check_schema: regex_uri
// holds (regex, template) pairs whose regexes compile, and headers given as
// a flat map have valid names and values.
func Check(conf map[string]any) error {
	if re, ok := confcheck.Strings(conf, "regex_uri"); ok && len(re) > 0 {
		if len(re)%2 != 0 {
			return errors.New("The length of regex_uri should be an even number")
		}
		for i := 0; i < len(re); i += 2 {
			if _, err := confcheck.CompileRegex(re[i], "jo"); err != nil {
				return errors.New("invalid regex_uri(" + re[i] + ", " + re[i+1] + "): " + err.Error())
			}
		}
	}

	headers, ok := confcheck.Object(conf, "headers")
	if !ok || isNewHeadersConf(headers) {
		return nil
	}
	return checkSetHeaders(headers)
}

func isNewHeadersConf(h map[string]any) bool {
	for _, k := range []string{"add", "set", "remove"} {
		switch h[k].(type) {
		case map[string]any, []any:
			return true
		}
	}
	return false
}

func checkSetHeaders(h map[string]any) error {
	fields := make([]string, 0, len(h))
	for f := range h {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	for _, field := range fields {
		value := h[field]
		if _, isNum := confcheck.Number(value); !isNum {
			if _, isStr := value.(string); !isStr {
				return errors.New("invalid type as header value")
			}
		}
		if len(field) == 0 {
			return errors.New("invalid field length in header")
		}
		if !confcheck.ValidHeaderField(field) {
			return errors.New("invalid field character in header")
		}
		if !confcheck.ValidHeaderValue(value) {
			return errors.New("invalid value character in header")
		}
	}
	return nil
}
