package tenant

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/stargate-edge/stargate/internal/store/boltstore"
)

func TestClaimOverlaps(t *testing.T) {
	for _, tc := range []struct {
		desc string
		a, b Claim
		want bool
	}{
		{"same exact", ParseHost("a.example.com"), ParseHost("A.Example.COM."), true},
		{"different exact", ParseHost("a.example.com"), ParseHost("b.example.com"), false},
		{"port ignored", ParseHost("a.example.com:8443"), ParseHost("a.example.com"), true},
		{"wildcard covers child", ParseHost("*.example.com"), ParseHost("a.example.com"), true},
		{"wildcard covers grandchild", ParseHost("*.example.com"), ParseHost("x.a.example.com"), true},
		{"wildcard not apex", ParseHost("*.example.com"), ParseHost("example.com"), false},
		{"wildcard vs sibling domain", ParseHost("*.example.com"), ParseHost("a.example.org"), false},
		{"suffix is not a subdomain", ParseHost("*.example.com"), ParseHost("badexample.com"), false},
		{"nested wildcards", ParseHost("*.example.com"), ParseHost("*.a.example.com"), true},
		{"sibling wildcards", ParseHost("*.a.example.com"), ParseHost("*.b.example.com"), false},
		{"zone covers apex", ZoneClaim("example.com"), ParseHost("example.com"), true},
		{"zone covers below", ZoneClaim("example.com"), ParseHost("www.example.com"), true},
		{"zone vs wildcard above", ZoneClaim("a.example.com"), ParseHost("*.example.com"), true},
		{"zone vs other zone", ZoneClaim("example.com"), ZoneClaim("example.org"), false},
		{"zone vs child zone", ZoneClaim("example.com"), ZoneClaim("sub.example.com"), true},
	} {
		if got := tc.a.Overlaps(tc.b); got != tc.want {
			t.Errorf("%s: %v overlaps %v = %v, want %v", tc.desc, tc.a, tc.b, got, tc.want)
		}
		if got := tc.b.Overlaps(tc.a); got != tc.want {
			t.Errorf("%s (reversed): %v", tc.desc, got)
		}
	}
}

func TestClaimBroad(t *testing.T) {
	for h, want := range map[string]bool{"*.com": true, "*.co.uk": true, "*": true, "*.example.com": false, "com": false, "example.com": false} {
		if got := ParseHost(h).Broad(); got != want {
			t.Errorf("%s broad = %v, want %v", h, got, want)
		}
	}
	if !ZoneClaim("com").Broad() || ZoneClaim("example.com").Broad() {
		t.Error("zone broadness")
	}
}

func TestACL(t *testing.T) {
	acl, err := ParseACL([]string{"10.0.0.0/8", " 192.0.2.7 ", "2001:db8::/32", "10.1.2.3/8"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(acl, ",") != "10.0.0.0/8,192.0.2.7/32,2001:db8::/32,10.0.0.0/8" {
		t.Errorf("normalised: %v", acl)
	}
	for addr, want := range map[string]bool{"10.9.9.9": true, "192.0.2.7": true, "192.0.2.8": false, "[2001:db8::1]:443": true,
		"::ffff:10.0.0.1": true, "127.0.0.1:80": false, "garbage": false} {
		if got := ACLAllows(acl, addr); got != want {
			t.Errorf("%s allowed = %v, want %v", addr, got, want)
		}
	}
	if !ACLAllows(nil, "anything") {
		t.Error("an empty ACL must allow everything")
	}
	if _, err := ParseACL([]string{"10.0.0.0/33"}); err == nil {
		t.Error("bad CIDR accepted")
	}
}

func TestPasswordHash(t *testing.T) {
	h := newHasher(ArgonParams{Time: 1, MemoryKiB: 64, Threads: 1})
	ctx := context.Background()
	enc, err := h.hash(ctx, "s3cret password")
	if err != nil || !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q %v", enc, err)
	}
	if ok, _ := h.verify(ctx, enc, "s3cret password"); !ok {
		t.Error("right password refused")
	}
	if ok, _ := h.verify(ctx, enc, "s3cret passworD"); ok {
		t.Error("wrong password accepted")
	}
	// A hash made with other parameters still verifies: they travel with it.
	other := newHasher(ArgonParams{Time: 2, MemoryKiB: 128, Threads: 2})
	if ok, _ := other.verify(ctx, enc, "s3cret password"); !ok {
		t.Error("parameters are not read from the hash")
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$AAAA$AAAA", "$argon2id$v=19$m=0,t=1,p=1$AAAA$AAAA", "$argon2id$v=19$m=99999999,t=1,p=1$AAAA$AAAA"} {
		if ok, _ := h.verify(ctx, bad, ""); ok {
			t.Errorf("malformed hash %q matched", bad)
		}
	}
}

func TestLimiter(t *testing.T) {
	l := newLimiter(3, time.Hour)
	for i := 0; i < 3; i++ {
		if b, _ := l.blocked("k"); b {
			t.Fatalf("blocked after %d failures", i)
		}
		l.fail("k")
	}
	b, wait := l.blocked("k")
	if !b || wait <= 0 || wait > 21*time.Minute {
		t.Errorf("after 3 failures: blocked %v wait %v", b, wait)
	}
	if b, _ := l.blocked("other"); b {
		t.Error("keys share a bucket")
	}
	// The map stays bounded.
	l.max = 10
	for i := 0; i < 100; i++ {
		l.fail(strings.Repeat("x", i+1))
	}
	if n := len(l.buckets); n > 10 {
		t.Errorf("%d buckets with a bound of 10", n)
	}
}

func openDir(t *testing.T) (*Directory, *Owners) {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "s.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); st.Close() })
	d := NewDirectory(Options{Store: st, Argon: ArgonParams{Time: 1, MemoryKiB: 64, Threads: 1}})
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	o := NewOwners(st, nil, PrefixParent("/apisix/consumers/", "/apisix/consumers/"))
	if err := o.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return d, o
}

func TestDirectoryRolesAndInheritance(t *testing.T) {
	d, _ := openDir(t)
	ctx := context.Background()
	pw := "long password"
	u, err := d.CreateUser(ctx, UserInput{Username: ptr("ann"), Password: &pw})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := d.CreateUser(ctx, UserInput{Username: ptr("val"), Password: &pw})
	parent, _ := d.CreateOrg(ctx, "parent", "", u.ID)
	child, _ := d.CreateOrg(ctx, "child", parent.ID, "")
	grand, _ := d.CreateOrg(ctx, "grand", child.ID, "")
	if _, err := d.SetMember(ctx, child.ID, v.ID, RoleViewer); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		user, org string
		want      Role
	}{
		{u.ID, parent.ID, RoleOwner}, {u.ID, child.ID, RoleOwner}, {u.ID, grand.ID, RoleOwner},
		{v.ID, parent.ID, RoleNone}, {v.ID, child.ID, RoleViewer}, {v.ID, grand.ID, RoleViewer},
		{v.ID, "o_missing", RoleNone},
	} {
		if got := d.Role(tc.user, tc.org); got != tc.want {
			t.Errorf("role of %s in %s = %q, want %q", tc.user, tc.org, got, tc.want)
		}
	}
	if ms := d.MembershipsOf(v.ID); len(ms) != 2 || ms[0].Inherited == ms[1].Inherited {
		t.Errorf("memberships of val: %+v", ms)
	}
	if err := d.DeleteOrg(ctx, child.ID); err == nil {
		t.Error("deleted an organization with a child")
	}
	if err := d.DeleteUser(ctx, u.ID); err == nil {
		t.Error("deleted an owner")
	}
	if err := d.TransferOwnership(ctx, parent.ID, v.ID); err == nil {
		t.Error("transferred to a non-member")
	}
}

func TestOwnersIndex(t *testing.T) {
	_, o := openDir(t)
	ctx := context.Background()
	if err := o.Set(ctx, "/apisix/consumers/jack", "o_a", "u_x"); err != nil {
		t.Fatal(err)
	}
	if err := o.Set(ctx, "/apisix/routes/1", "o_a", "u_x"); err != nil {
		t.Fatal(err)
	}
	if got := o.Owner("/apisix/consumers/jack/credentials/c1"); got != "o_a" {
		t.Errorf("a credential's owner = %q, want its consumer's", got)
	}
	if got := o.Keys("o_a", "/apisix/routes/"); len(got) != 1 || got[0] != "/apisix/routes/1" {
		t.Errorf("keys %v", got)
	}
	if err := o.Clear(ctx, "/apisix/routes/1"); err != nil {
		t.Fatal(err)
	}
	if got := o.Owner("/apisix/routes/1"); got != "" {
		t.Errorf("cleared owner = %q", got)
	}
	if o.Count("o_a", "") != 1 {
		t.Errorf("count %d", o.Count("o_a", ""))
	}
}

func ptr(s string) *string { return &s }

// TestMain checks that every index and the audit writer stop with their
// context.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestAuditWriterStops(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "s.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	a := NewAudit(st, nil, time.Hour, 3)
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	h := NewHosts(st, nil, HostSource{Prefix: "/apisix/routes/", Claims: func(string, []byte) []Claim { return nil }})
	if err := h.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		a.Record(AuditEntry{OrgID: "o_a", Method: "PUT", Status: 200})
	}
	org := "o_a"
	got, total, err := a.Query(ctx, AuditQuery{OrgID: &org})
	if err != nil || total > 4 || len(got) != total {
		t.Errorf("audit with a cap of 3 holds %d (%v)", total, err)
	}
	cancel()
	a.Flush(context.Background()) // returns once the writer has stopped
	a.Record(AuditEntry{})        // dropped, not blocked
}
