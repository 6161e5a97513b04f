package jobs

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/stargate-edge/stargate/internal/cache"
)

// Matcher compiles a purge request into the test each index entry goes
// through. Its errors are worded for the API's error_msg.
func Matcher(req Request) (func(*cache.Entry) bool, error) {
	forms := 0
	if req.Pattern != "" {
		forms++
	}
	if len(req.URLs) > 0 {
		forms++
	}
	if req.Prefix != "" {
		forms++
	}
	if req.All {
		forms++
	}
	if forms != 1 {
		return nil, errors.New(`want exactly one of {"pattern": REGEX}, {"urls": [...]}, {"prefix": URL_PREFIX}, {"all": true}`)
	}
	switch {
	case req.Pattern != "":
		m, err := cache.MatchKey(req.Pattern)
		if err != nil {
			return nil, fmt.Errorf("invalid pattern: %w", err)
		}
		return m, nil
	case req.All:
		return func(*cache.Entry) bool { return true }, nil
	case req.Prefix != "":
		p := req.Prefix
		if strings.HasPrefix(p, "/") {
			return func(e *cache.Entry) bool { return strings.HasPrefix(requestURI(e.HostPath()), p) }, nil
		}
		p = stripScheme(p)
		return func(e *cache.Entry) bool {
			return strings.HasPrefix(e.HostPath(), p) || strings.HasPrefix(e.Key(), p)
		}, nil
	}
	full, paths := map[string]bool{}, map[string]bool{}
	for _, u := range req.URLs {
		if strings.HasPrefix(u, "/") {
			paths[u] = true
			continue
		}
		hp, err := hostPath(u)
		if err != nil {
			return nil, err
		}
		full[hp] = true
	}
	return func(e *cache.Entry) bool {
		hp := e.HostPath()
		return full[hp] || full[e.Key()] || (len(paths) > 0 && paths[requestURI(hp)])
	}, nil
}

// hostPath normalises an absolute URL to "host/path?query", the form of
// the default cache key ($host$request_uri: the host lower case, without
// a port) and of the URLs entries record.
func hostPath(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("invalid url %q: want an absolute http(s) URL or a path", raw)
	}
	return strings.ToLower(u.Hostname()) + u.RequestURI(), nil
}

func stripScheme(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
		if j := strings.IndexByte(s, '/'); j >= 0 {
			return strings.ToLower(s[:j]) + s[j:]
		}
		return strings.ToLower(s)
	}
	return s
}

// requestURI is the path-and-query part of "host/path?query".
func requestURI(hp string) string {
	if i := strings.IndexByte(hp, '/'); i >= 0 {
		return hp[i:]
	}
	return "/"
}
