package prometheus_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stargate-edge/stargate/internal/plugin"
	"github.com/stargate-edge/stargate/internal/testutil/edgetest"
)

// echo is an upstream answering with a fixed JSON body (its size is part
// of the byte counters the tests check).
func echo(t *testing.T) string {
	t.Helper()
	return edgetest.Serve(t, func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"path": r.URL.Path})
	})
}

// testAuth is a stand-in auth plugin: X-Consumer names the consumer, and a
// request without it is rejected with 401 in the rewrite phase.
type testAuth struct{}

func (testAuth) Rewrite(c *plugin.Ctx) {
	name := c.Req.Header.Get("X-Consumer")
	if name == "" {
		c.Exit(http.StatusUnauthorized, []byte(`{"message":"Missing consumer"}`))
		return
	}
	c.Consumer = &plugin.Consumer{Username: name}
}

func init() {
	plugin.Register(plugin.Definition{Name: "test-consumer", Priority: 2550,
		New: func(map[string]any) (any, error) { return testAuth{}, nil }})
}
