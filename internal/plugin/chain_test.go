package plugin_test

import (
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
