package plugin_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/stargate-edge/stargate/internal/plugin"
)

// TestChainTransient: a chain is transient only when every instance is;
// merging in a consumer's non-transient plugin makes it retain.
func TestChainTransient(t *testing.T) {
	tr := func(name string) plugin.Instance { return plugin.Instance{Name: name, Transient: true} }
	keeps := plugin.Instance{Name: "keeps"}
	for _, c := range []struct {
		name  string
		chain *plugin.Chain
		want  bool
	}{
		{"nil", nil, true},
		{"empty", plugin.NewChain(nil), true},
		{"all transient", plugin.NewChain([]plugin.Instance{tr("a"), tr("b")}), true},
		{"one keeps", plugin.NewChain([]plugin.Instance{tr("a"), keeps}), false},
		{"merged with a keeper", plugin.Merge(plugin.NewChain([]plugin.Instance{tr("a")}), plugin.NewChain([]plugin.Instance{keeps})), false},
		{"keeper overridden by a transient one", plugin.Merge(plugin.NewChain([]plugin.Instance{{Name: "a"}}), plugin.NewChain([]plugin.Instance{tr("a")})), true},
	} {
		if got := c.chain.Transient(); got != c.want {
			t.Errorf("%s: Transient() = %v, want %v", c.name, got, c.want)
		}
	}
}

type (
	logs      struct{}
	filters   struct{}
	wraps     struct{}
	answers   struct{}
	accessing struct{}
)

func (logs) Log(*plugin.Ctx)                                               {}
func (filters) HeaderFilter(*plugin.Ctx, int, http.Header)                 {}
func (accessing) Access(*plugin.Ctx)                                       {}
func (answers) Respond(*plugin.Ctx, plugin.Origin) (*http.Response, error) { return nil, nil }
func (wraps) WrapBody(_ *plugin.Ctx, _ int, _ http.Header, w io.Writer) io.WriteCloser {
	return nil
}

// TestChainPassthrough: a chain passes the upstream's answer through
// unless one of its plugins filters the answer's header or body or
// answers itself, merged in from a consumer or not.
func TestChainPassthrough(t *testing.T) {
	in := func(name string, impl any) plugin.Instance { return plugin.Instance{Name: name, Impl: impl} }
	for _, c := range []struct {
		name  string
		chain *plugin.Chain
		want  bool
	}{
		{"nil", nil, true},
		{"empty", plugin.NewChain(nil), true},
		{"log and access phases", plugin.NewChain([]plugin.Instance{in("a", logs{}), in("b", accessing{})}), true},
		{"a header filter", plugin.NewChain([]plugin.Instance{in("a", logs{}), in("b", filters{})}), false},
		{"a body filter", plugin.NewChain([]plugin.Instance{in("a", wraps{})}), false},
		{"a responder", plugin.NewChain([]plugin.Instance{in("a", answers{})}), false},
		{"merged with a filter", plugin.Merge(plugin.NewChain([]plugin.Instance{in("a", logs{})}), plugin.NewChain([]plugin.Instance{in("b", filters{})})), false},
		{"filter overridden by a logger", plugin.Merge(plugin.NewChain([]plugin.Instance{in("a", filters{})}), plugin.NewChain([]plugin.Instance{in("a", logs{})})), true},
	} {
		if got := c.chain.Passthrough(); got != c.want {
			t.Errorf("%s: Passthrough() = %v, want %v", c.name, got, c.want)
		}
	}
}
