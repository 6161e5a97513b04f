package mocking

import (
	"errors"
	"regexp"

	"github.com/stargate-edge/stargate/internal/plugin/confcheck"
)

// supportedTypes are the content types APISIX's mocking accepts.
var supportedTypes = map[string]bool{
	"application/xml":  true,
	"application/json": true,
	"text/plain":       true,
	"text/html":        true,
	"text/xml":         true,
}

var ctRe = regexp.MustCompile(`^([ -~]*);([ -~]*)`)

// mediaType is APISIX's parse_content_type: the part before the last ';'
// when the value is printable ASCII with a ';', else the whole value.
func mediaType(ct string) string {
	if m := ctRe.FindStringSubmatch(ct); m != nil {
		return m[1]
	}
	return ct
}

// Check makes APISIX's check_schema test: content_type must be one the
// plugin can answer with.
func Check(conf map[string]any) error {
	ct, ok := confcheck.String(conf, "content_type")
	if !ok {
		ct = "application/json;charset=utf8"
	}
	if !supportedTypes[mediaType(ct)] {
		return errors.New("unsupported content type!")
	}
	return nil
}
