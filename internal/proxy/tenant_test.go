package proxy_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stargate-edge/stargate/internal/tenant"
	"github.com/stargate-edge/stargate/internal/testutil/edgetest"
)

// TestConsumersStayInTheirOrganization: an API key of one organization's
// consumer never opens another organization's route, even with the right
// plugin; the owner's own key does.
func TestConsumersStayInTheirOrganization(t *testing.T) {
	e := edgetest.New(t)
	up := edgetest.NewEcho(t, "up")
	own := func(key, org string) {
		b, _ := json.Marshal(tenant.OwnerRecord{OrgID: org})
		kv, err := e.Store.Put(context.Background(), tenant.OwnerKey(key), b)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Loader.WaitRevision(context.Background(), kv.ModRevision); err != nil {
			t.Fatal(err)
		}
	}
	e.Put("/consumers", `{"username":"alice","plugins":{"key-auth":{"key":"alice-key"}}}`)
	e.Put("/consumers", `{"username":"bob","plugins":{"key-auth":{"key":"bob-key"}}}`)
	e.Put("/routes/a", `{"uri":"/a","host":"a.example.com","plugins":{"key-auth":{}},"upstream":`+up.Upstream()+`}`)
	e.Put("/routes/b", `{"uri":"/b","host":"b.example.com","plugins":{"key-auth":{}},"upstream":`+up.Upstream()+`}`)
	own("/apisix/consumers/alice", "org-a")
	own("/apisix/routes/a", "org-a")
	own("/apisix/consumers/bob", "org-b")
	own("/apisix/routes/b", "org-b")
	for _, c := range []struct {
		desc, host, path, key string
		want                  int
	}{
		{"own key on own route", "a.example.com", "/a", "alice-key", 200},
		{"other org's key", "a.example.com", "/a", "bob-key", 401},
		{"own key, other route", "b.example.com", "/b", "alice-key", 401},
		{"bob on his route", "b.example.com", "/b", "bob-key", 200},
	} {
		if r := e.Get(c.path, "Host", c.host, "apikey", c.key); r.Status != c.want {
			t.Errorf("%s: %d %s, want %d", c.desc, r.Status, r.Body, c.want)
		}
	}
	// Moving the consumer to org-b moves its key with it.
	own("/apisix/consumers/alice", "org-b")
	if r := e.Get("/b", "Host", "b.example.com", "apikey", "alice-key"); r.Status != 200 {
		t.Errorf("after reassignment: %d", r.Status)
	}
	if r := e.Get("/a", "Host", "a.example.com", "apikey", "alice-key"); r.Status != 401 {
		t.Errorf("after reassignment, old org: %d", r.Status)
	}
}
