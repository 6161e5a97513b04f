package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/stargate-edge/stargate/internal/schema"
)

// readBody reads the whole request body, mapping an oversized body to
// APISIX's 400 "invalid request body".
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, badRequest("invalid request body: request body too large, limit is %d bytes", mbe.Limit)
		}
		return nil, badRequest("invalid request body: %v", err)
	}
	return b, nil
}

// decodeJSON parses one JSON value, keeping numbers exact (json.Number),
// refusing trailing data. The error echoes the body as APISIX does
// (req_body), truncated so that a huge bad body is not sent back whole.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("invalid character after top-level value")
		}
	}
	if err != nil {
		if err == io.EOF {
			err = errors.New("unexpected end of JSON input")
		}
		echo := string(b)
		if len(echo) > 1024 {
			echo = echo[:1024]
			for !utf8.ValidString(echo) && len(echo) > 0 {
				echo = echo[:len(echo)-1]
			}
			echo += "…"
		}
		return nil, &apiError{status: http.StatusBadRequest, body: map[string]any{
			"error_msg": "invalid request body: " + err.Error(),
			"req_body":  strings.ToValidUTF8(echo, "\uFFFD"),
		}}
	}
	return v, nil
}

// decodeObject parses a body that must be a JSON object.
func decodeObject(b []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, badRequest("invalid request body: empty request body")
	}
	v, err := decodeJSON(b)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, badRequest("invalid configuration: wrong type: expected object, got %s", jsonType(v))
	}
	return m, nil
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case json.Number, float64, int, int64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

// mergePatch applies APISIX's core.table.merge: objects merge recursively,
// arrays and scalars replace, null deletes.
func mergePatch(dst, patch map[string]any) map[string]any {
	for k, pv := range patch {
		if pv == nil {
			delete(dst, k)
			continue
		}
		pm, pIsObj := pv.(map[string]any)
		dm, dIsObj := dst[k].(map[string]any)
		if pIsObj && dIsObj {
			dst[k] = mergePatch(dm, pm)
			continue
		}
		dst[k] = schema.DeepCopy(pv)
	}
	return dst
}

// patchPath replaces the node at a sub-path ("methods", "upstream/nodes"),
// creating missing intermediate objects (APISIX core.table.patch).
func patchPath(obj map[string]any, path []string, v any) error {
	cur := obj
	for i, seg := range path {
		if seg == "" {
			return badRequest("invalid sub-path: /%s", strings.Join(path[:i+1], "/"))
		}
		if i == len(path)-1 {
			if v == nil {
				delete(cur, seg)
			} else {
				cur[seg] = v
			}
			return nil
		}
		next, exists := cur[seg]
		if !exists || next == nil {
			m := map[string]any{}
			cur[seg] = m
			cur = m
			continue
		}
		m, ok := next.(map[string]any)
		if !ok {
			return badRequest("invalid sub-path: /%s", strings.Join(path[:i+1], "/"))
		}
		cur = m
	}
	return nil
}
