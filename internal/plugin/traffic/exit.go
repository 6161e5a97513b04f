package traffic

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// HTMLType is the Content-Type of nginx's error pages, which
// plugin.Ctx.Exit(status, nil) answers with (plugin.ErrorPage).
const HTMLType = "text/html; charset=utf-8"

// MessageBody is APISIX's `{ error_msg = msg }` as core.response.exit
// encodes it: JSON without HTML escaping, with a trailing newline.
func MessageBody(msg string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(map[string]string{"error_msg": msg})
	return b.Bytes()
}

// FormatNumber writes a number as Lua's tostring does ("%.14g").
func FormatNumber(f float64) string {
	if f == float64(int64(f)) && f < 1e15 && f > -1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', 14, 64)
}
