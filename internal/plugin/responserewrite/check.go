package responserewrite

import (
	"encoding/base64"
	"errors"
	"sort"
	"strings"

	"github.com/stargate-edge/stargate/internal/plugin/confcheck"
)

// Check makes the checks of APISIX's response-rewrite check_schema: flat
// headers have string or number values, body_base64 needs a body that
// decodes, and filter regexes compile with their options. (APISIX also
// compiles vars with lua-resty-expr; that check belongs with the vars
// compiler.)
func Check(conf map[string]any) error {
	if headers, ok := confcheck.Object(conf, "headers"); ok && !isNewHeadersConf(headers) {
		if err := checkSetHeaders(headers); err != nil {
			return err
		}
	}

	if b64, _ := confcheck.Bool(conf, "body_base64"); b64 {
		body, _ := confcheck.String(conf, "body")
		if body == "" || !decodes(body) {
			return errors.New("invalid base64 content")
		}
	}

	filters, _ := confcheck.Objects(conf, "filters")
	for _, f := range filters {
		re, _ := confcheck.String(f, "regex")
		opts, ok := confcheck.String(f, "options")
		if !ok {
			opts = "jo"
		}
		if _, err := confcheck.CompileRegex(re, opts); err != nil {
			return errors.New("regex \"" + re + "\" validation failed: " + err.Error())
		}
	}
	return nil
}

// decodes reports whether ngx.decode_base64 accepts s: standard alphabet,
// padding optional.
func decodes(s string) bool {
	_, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
	return err == nil
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
	}
	return nil
}
