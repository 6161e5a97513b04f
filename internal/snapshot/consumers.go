package snapshot

import (
	"fmt"
	"sort"
	"strings"

	"github.com/stargate-edge/stargate/internal/plugin"
)

// Consumers indexes consumers by each auth plugin's identity attribute.
type Consumers struct {
	byIdentity map[string]map[string]*plugin.Consumer // plugin -> identity -> consumer
	byName     map[string]*plugin.Consumer
	views      map[string]plugin.Consumers // per owner, built once
	count      int
}

// ForOrg is the view of the consumers an organization's routes may
// authenticate: its own (tenant isolation — a key of one customer never
// opens another customer's route).
func (c *Consumers) ForOrg(org string) plugin.Consumers {
	if c == nil {
		return nil
	}
	if v, ok := c.views[org]; ok {
		return v
	}
	return orgView{c: c, org: org}
}

// orgView filters a Consumers by owner.
type orgView struct {
	c   *Consumers
	org string
}

func (v orgView) Lookup(p, identity string) (*plugin.Consumer, bool) {
	cons, ok := v.c.Lookup(p, identity)
	if !ok || cons.Org != v.org {
		return nil, false
	}
	return cons, true
}

func (v orgView) ByName(username string) (*plugin.Consumer, bool) {
	cons, ok := v.c.ByName(username)
	if !ok || cons.Org != v.org {
		return nil, false
	}
	return cons, true
}

// ByName implements plugin.Consumers.
func (c *Consumers) ByName(username string) (*plugin.Consumer, bool) {
	if c == nil {
		return nil, false
	}
	cons, ok := c.byName[username]
	return cons, ok
}

var _ plugin.Consumers = (*Consumers)(nil)

// Lookup implements plugin.Consumers.
func (c *Consumers) Lookup(pluginName, identity string) (*plugin.Consumer, bool) {
	if c == nil {
		return nil, false
	}
	cons, ok := c.byIdentity[pluginName][identity]
	return cons, ok
}

// Len is the number of consumers.
func (c *Consumers) Len() int {
	if c == nil {
		return 0
	}
	return c.count
}

// compileConsumers builds the consumer index from consumers, their
// credentials and consumer groups. Consumers are few next to routes, so
// any change rebuilds the whole index.
func (l *Loader) compileConsumers() *Consumers {
	out := &Consumers{byIdentity: map[string]map[string]*plugin.Consumer{}, byName: map[string]*plugin.Consumer{}}
	ids := make([]string, 0, len(l.objs["consumers"]))
	for id := range l.objs["consumers"] {
		ids = append(ids, id)
	}
	sort.Strings(ids) // consumers before their credentials
	users := map[string]*plugin.Consumer{}
	index := func(cons *plugin.Consumer, auth map[string]any) {
		for name, conf := range auth {
			def, ok := plugin.Lookup(name)
			if !ok || def.Type != "auth" || def.IdentityAttr == "" {
				continue
			}
			cm, _ := conf.(map[string]any)
			ident, _ := cm[def.IdentityAttr].(string)
			if ident == "" {
				continue
			}
			if out.byIdentity[name] == nil {
				out.byIdentity[name] = map[string]*plugin.Consumer{}
			}
			if prev, dup := out.byIdentity[name][ident]; dup {
				l.log.Warn("snapshot: duplicate consumer identity, keeping the first", "plugin", name, "kept", prev.Username, "dropped", cons.Username)
				continue
			}
			c := *cons
			c.Auth = map[string]map[string]any{name: cm}
			out.byIdentity[name][ident] = &c
		}
	}
	for _, id := range ids {
		m, ok := l.decode("consumers", id)
		if !ok {
			continue
		}
		if user, cred, isCred := strings.Cut(id, "/credentials/"); isCred {
			base, ok := users[user]
			if !ok {
				continue
			}
			c := *base
			c.CredentialID = cred
			p, _ := m["plugins"].(map[string]any)
			index(&c, p)
			continue
		}
		cons := &plugin.Consumer{Username: id, GroupID: str(m["group_id"]), Plugins: map[string]any{}, Org: l.owners[Prefix+"consumers/"+id]}
		if labels, ok := m["labels"].(map[string]any); ok {
			cons.Labels = map[string]string{}
			for k, v := range labels {
				cons.Labels[k] = str(v)
			}
		}
		auth := map[string]any{}
		if cons.GroupID != "" {
			if g, ok := l.decode("consumer_groups", cons.GroupID); ok {
				if p, ok := g["plugins"].(map[string]any); ok {
					for k, v := range p {
						cons.Plugins[k] = v
					}
				}
			} else {
				l.fail("consumers/"+id, errorf("consumer group %s not found", cons.GroupID))
			}
		}
		if p, ok := m["plugins"].(map[string]any); ok {
			for k, v := range p {
				if def, ok := plugin.Lookup(k); ok && def.Type == "auth" {
					auth[k] = v
				} else {
					cons.Plugins[k] = v
				}
			}
		}
		chain, err := l.buildChain("consumers/"+id, cons.Plugins)
		if err != nil {
			l.fail("consumers/"+id, err)
			continue
		}
		cons.Chain = chain
		users[id] = cons
		out.byName[id] = cons
		out.count++
		index(cons, auth)
	}
	// The platform's view always exists: most routes have no owner, and a
	// view built per request would be an allocation on the hot path.
	out.views = map[string]plugin.Consumers{"": orgView{c: out, org: ""}}
	for _, cons := range out.byName {
		if _, ok := out.views[cons.Org]; !ok {
			out.views[cons.Org] = orgView{c: out, org: cons.Org}
		}
	}
	return out
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
