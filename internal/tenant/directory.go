package tenant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/stargate-edge/stargate/internal/store"
)

// Options configures a Directory.
type Options struct {
	Store  store.Store
	Logger *slog.Logger
	// Argon is the password hashing cost (default DefaultArgon).
	Argon ArgonParams
	// Login bounds failed logins (default DefaultLoginLimits).
	Login LoginLimits
	// SessionTTL is how long a login token lives (default 24h).
	SessionTTL time.Duration
	// InviteTTL is how long an invitation code stays valid (default 7 days).
	InviteTTL time.Duration
	// MaxOrgDepth bounds nesting of child organizations (default 4).
	MaxOrgDepth int
}

// Directory is the account model: users, organizations, memberships,
// tokens and invitations, persisted in the store and mirrored in memory.
type Directory struct {
	opts    Options
	st      store.Store
	log     *slog.Logger
	hash    *hasher
	addrLim *limiter
	acctLim *limiter

	mu         sync.RWMutex
	ver        versions
	users      map[string]*User
	byName     map[string]string // lower username -> id
	byEmail    map[string]string // lower email -> id
	orgs       map[string]*Org
	children   map[string]map[string]bool
	members    map[string]map[string]*Member // org -> user -> member
	userOrgs   map[string]map[string]Role    // user -> org -> direct role
	tokens     map[string]*Token             // store key -> token
	tokenByID  map[string]string             // token id -> store key
	userTokens map[string]map[string]bool    // user id -> token ids
	invites    map[string]*Invite            // store key -> invite
	inviteByID map[string]string             // invite id -> store key
}

// NewDirectory builds a Directory; Start loads and follows the store.
func NewDirectory(opts Options) *Directory {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Login == (LoginLimits{}) {
		opts.Login = DefaultLoginLimits
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 24 * time.Hour
	}
	if opts.InviteTTL <= 0 {
		opts.InviteTTL = 7 * 24 * time.Hour
	}
	if opts.MaxOrgDepth <= 0 {
		opts.MaxOrgDepth = 4
	}
	d := &Directory{
		opts: opts, st: opts.Store, log: opts.Logger, hash: newHasher(opts.Argon),
		addrLim: newLimiter(opts.Login.PerAddress, opts.Login.Window),
		acctLim: newLimiter(opts.Login.PerAccount, opts.Login.Window),
	}
	d.resetLocked(nil)
	return d
}

// SessionTTL is the configured login token lifetime.
func (d *Directory) SessionTTL() time.Duration { return d.opts.SessionTTL }

// Start loads every account record and follows changes until ctx ends.
func (d *Directory) Start(ctx context.Context) error {
	f := &follower{st: d.st, prefix: AccountsPrefix, log: d.log,
		reset: func(kvs []store.KV, _ int64) {
			d.mu.Lock()
			defer d.mu.Unlock()
			d.resetLocked(kvs)
		},
		apply: func(e store.Event, rev int64) {
			d.mu.Lock()
			defer d.mu.Unlock()
			d.applyLocked(e.KV.Key, e.KV.Value, e.KV.ModRevision, e.Type == store.EventDelete)
			d.ver.prune(rev, "")
		}}
	return f.start(ctx)
}

func (d *Directory) resetLocked(kvs []store.KV) {
	d.ver = newVersions()
	d.users, d.byName, d.byEmail = map[string]*User{}, map[string]string{}, map[string]string{}
	d.orgs, d.children = map[string]*Org{}, map[string]map[string]bool{}
	d.members, d.userOrgs = map[string]map[string]*Member{}, map[string]map[string]Role{}
	d.tokens, d.tokenByID, d.userTokens = map[string]*Token{}, map[string]string{}, map[string]map[string]bool{}
	d.invites, d.inviteByID = map[string]*Invite{}, map[string]string{}
	for _, kv := range kvs {
		d.applyLocked(kv.Key, kv.Value, kv.ModRevision, false)
	}
}

// apply records a write or delete seen at rev.
func (d *Directory) apply(key string, value []byte, rev int64, deleted bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.applyLocked(key, value, rev, deleted)
}

func (d *Directory) applyLocked(key string, value []byte, rev int64, deleted bool) {
	if !d.ver.fresh(key, rev, deleted) {
		return
	}
	switch {
	case strings.HasPrefix(key, usersPrefix):
		id := strings.TrimPrefix(key, usersPrefix)
		if old := d.users[id]; old != nil {
			if d.byName[strings.ToLower(old.Username)] == id {
				delete(d.byName, strings.ToLower(old.Username))
			}
			if old.Email != "" && d.byEmail[strings.ToLower(old.Email)] == id {
				delete(d.byEmail, strings.ToLower(old.Email))
			}
			delete(d.users, id)
		}
		var u User
		if deleted || json.Unmarshal(value, &u) != nil {
			return
		}
		d.users[id] = &u
		d.byName[strings.ToLower(u.Username)] = id
		if u.Email != "" {
			d.byEmail[strings.ToLower(u.Email)] = id
		}
	case strings.HasPrefix(key, orgsPrefix):
		id := strings.TrimPrefix(key, orgsPrefix)
		if old := d.orgs[id]; old != nil {
			delete(d.children[old.ParentID], id)
			delete(d.orgs, id)
		}
		var o Org
		if deleted || json.Unmarshal(value, &o) != nil {
			return
		}
		d.orgs[id] = &o
		if o.ParentID != "" {
			if d.children[o.ParentID] == nil {
				d.children[o.ParentID] = map[string]bool{}
			}
			d.children[o.ParentID][id] = true
		}
	case strings.HasPrefix(key, membersPrefix):
		org, user, ok := strings.Cut(strings.TrimPrefix(key, membersPrefix), "/")
		if !ok {
			return
		}
		delete(d.members[org], user)
		delete(d.userOrgs[user], org)
		var m Member
		if deleted || json.Unmarshal(value, &m) != nil {
			return
		}
		if d.members[org] == nil {
			d.members[org] = map[string]*Member{}
		}
		d.members[org][user] = &m
		if d.userOrgs[user] == nil {
			d.userOrgs[user] = map[string]Role{}
		}
		d.userOrgs[user][org] = m.Role
	case strings.HasPrefix(key, tokensPrefix):
		if old := d.tokens[key]; old != nil {
			delete(d.tokenByID, old.ID)
			delete(d.userTokens[old.UserID], old.ID)
			delete(d.tokens, key)
		}
		var t Token
		if deleted || json.Unmarshal(value, &t) != nil {
			return
		}
		d.tokens[key] = &t
		d.tokenByID[t.ID] = key
		if d.userTokens[t.UserID] == nil {
			d.userTokens[t.UserID] = map[string]bool{}
		}
		d.userTokens[t.UserID][t.ID] = true
	case strings.HasPrefix(key, invitesPrefix):
		if old := d.invites[key]; old != nil {
			delete(d.inviteByID, old.ID)
			delete(d.invites, key)
		}
		var in Invite
		if deleted || json.Unmarshal(value, &in) != nil {
			return
		}
		d.invites[key] = &in
		d.inviteByID[in.ID] = key
	}
}

func (d *Directory) now() time.Time { return time.Now() }

// put writes a record by compare-and-swap (rev 0: must not exist, -1: any)
// and applies it at once.
func (d *Directory) put(ctx context.Context, key string, v any, rev int64, opts ...store.PutOption) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("tenant: encode %s: %w", key, err)
	}
	if rev >= 0 {
		opts = append(opts, store.IfModRevision(rev))
	}
	kv, err := d.st.Put(ctx, key, raw, opts...)
	if err != nil {
		return err
	}
	d.apply(key, raw, kv.ModRevision, false)
	return nil
}

// del removes a record (missing is fine) and applies it at once.
func (d *Directory) del(ctx context.Context, key string) error {
	old, err := d.st.Delete(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	d.apply(key, nil, old.ModRevision+1, true)
	return nil
}

// ---- users ----

// UserInput is what creating or changing a user may set; nil fields are
// left alone on update.
type UserInput struct {
	Username *string
	Email    *string
	Name     *string
	Password *string
	ACL      *[]string
	Disabled *bool
}

// CreateUser adds a user. Username and email are unique (case-insensitive).
func (d *Directory) CreateUser(ctx context.Context, in UserInput) (*User, error) {
	if in.Username == nil || in.Password == nil {
		return nil, invalid("username and password are required")
	}
	u := &User{ID: newID('u'), Username: *in.Username}
	if err := ValidUsername(u.Username); err != nil {
		return nil, err
	}
	if err := ValidPassword(*in.Password); err != nil {
		return nil, err
	}
	if in.Email != nil && *in.Email != "" {
		if err := ValidEmail(*in.Email); err != nil {
			return nil, err
		}
		u.Email = *in.Email
	}
	if in.Name != nil {
		if err := ValidName("name", *in.Name, false); err != nil {
			return nil, err
		}
		u.Name = *in.Name
	}
	if in.ACL != nil {
		acl, err := ParseACL(*in.ACL)
		if err != nil {
			return nil, err
		}
		u.ACL = acl
	}
	if in.Disabled != nil {
		u.Disabled = *in.Disabled
	}
	h, err := d.hash.hash(ctx, *in.Password)
	if err != nil {
		return nil, err
	}
	u.PasswordHash = h
	now := d.now().Unix()
	u.CreateTime, u.UpdateTime = now, now
	if err := d.claim(ctx, usernameKey(u.Username), u.ID, "username"); err != nil {
		return nil, err
	}
	if u.Email != "" {
		if err := d.claim(ctx, emailKey(u.Email), u.ID, "email"); err != nil {
			_ = d.del(ctx, usernameKey(u.Username))
			return nil, err
		}
	}
	if err := d.put(ctx, userKey(u.ID), u, 0); err != nil {
		_ = d.del(ctx, usernameKey(u.Username))
		if u.Email != "" {
			_ = d.del(ctx, emailKey(u.Email))
		}
		return nil, err
	}
	return cp(u), nil
}

// claim takes a uniqueness key for user id. A claim left by a user that
// no longer exists (a crash between writes) is taken over.
func (d *Directory) claim(ctx context.Context, key, id, what string) error {
	_, err := d.st.Put(ctx, key, []byte(id), store.IfModRevision(0))
	if err == nil {
		return nil
	}
	if !errors.Is(err, store.ErrConflict) {
		return err
	}
	kv, gerr := d.st.Get(ctx, key)
	if gerr != nil {
		return fmt.Errorf("%w: %s already taken", ErrExists, what)
	}
	holder := string(kv.Value)
	if holder == id {
		return nil
	}
	if _, uerr := d.st.Get(ctx, userKey(holder)); !errors.Is(uerr, store.ErrNotFound) {
		return fmt.Errorf("%w: %s already taken", ErrExists, what)
	}
	if _, err := d.st.Put(ctx, key, []byte(id), store.IfModRevision(kv.ModRevision)); err != nil {
		return fmt.Errorf("%w: %s already taken", ErrExists, what)
	}
	return nil
}

func cp[T any](v *T) *T {
	if v == nil {
		return nil
	}
	c := *v
	return &c
}

// User returns a copy of a user.
func (d *Directory) User(id string) (*User, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	u := d.users[id]
	return cp(u), u != nil
}

// UserByLogin finds a user by username or email (case-insensitive).
func (d *Directory) UserByLogin(login string) (*User, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	l := strings.ToLower(login)
	id, ok := d.byName[l]
	if !ok {
		id, ok = d.byEmail[l]
	}
	if !ok {
		return nil, false
	}
	u := d.users[id]
	return cp(u), u != nil
}

// Users lists every user by username.
func (d *Directory) Users() []User {
	d.mu.RLock()
	out := make([]User, 0, len(d.users))
	for _, u := range d.users {
		out = append(out, *u)
	}
	d.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Username) < strings.ToLower(out[j].Username) })
	return out
}

// UpdateUser changes the fields set in in. Username changes are refused.
func (d *Directory) UpdateUser(ctx context.Context, id string, in UserInput) (*User, error) {
	if in.Username != nil {
		u, ok := d.User(id)
		if !ok {
			return nil, ErrNotFound
		}
		if *in.Username != u.Username {
			return nil, invalid("username cannot be changed")
		}
	}
	var newHash string
	if in.Password != nil {
		if err := ValidPassword(*in.Password); err != nil {
			return nil, err
		}
		h, err := d.hash.hash(ctx, *in.Password)
		if err != nil {
			return nil, err
		}
		newHash = h
	}
	var acl []string
	if in.ACL != nil {
		var err error
		if acl, err = ParseACL(*in.ACL); err != nil {
			return nil, err
		}
	}
	if in.Name != nil {
		if err := ValidName("name", *in.Name, false); err != nil {
			return nil, err
		}
	}
	if in.Email != nil && *in.Email != "" {
		if err := ValidEmail(*in.Email); err != nil {
			return nil, err
		}
	}
	for attempt := 0; ; attempt++ {
		kv, err := d.st.Get(ctx, userKey(id))
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrNotFound
		}
		if err != nil {
			return nil, err
		}
		var u User
		if err := json.Unmarshal(kv.Value, &u); err != nil {
			return nil, fmt.Errorf("tenant: stored user %s: %w", id, err)
		}
		oldEmail := u.Email
		if in.Email != nil {
			u.Email = *in.Email
		}
		if in.Name != nil {
			u.Name = *in.Name
		}
		if in.ACL != nil {
			u.ACL = acl
		}
		if in.Disabled != nil {
			u.Disabled = *in.Disabled
		}
		if newHash != "" {
			u.PasswordHash = newHash
		}
		emailChanged := !strings.EqualFold(oldEmail, u.Email)
		if emailChanged && u.Email != "" {
			if err := d.claim(ctx, emailKey(u.Email), id, "email"); err != nil {
				return nil, err
			}
		}
		u.UpdateTime = d.now().Unix()
		err = d.put(ctx, userKey(id), &u, kv.ModRevision)
		if errors.Is(err, store.ErrConflict) && attempt < 5 {
			continue
		}
		if err != nil {
			return nil, err
		}
		if emailChanged && oldEmail != "" {
			_ = d.del(ctx, emailKey(oldEmail))
		}
		return cp(&u), nil
	}
}

// DeleteUser removes a user, their memberships and tokens. A user who
// owns an organization must hand it over (or delete it) first.
func (d *Directory) DeleteUser(ctx context.Context, id string) error {
	u, ok := d.User(id)
	if !ok {
		return ErrNotFound
	}
	d.mu.RLock()
	var owned []string
	var orgs []string
	for org, r := range d.userOrgs[id] {
		orgs = append(orgs, org)
		if r == RoleOwner {
			owned = append(owned, org)
		}
	}
	d.mu.RUnlock()
	if len(owned) > 0 {
		sort.Strings(owned)
		return invalid("user owns organization %s: transfer its ownership or delete it first", owned[0])
	}
	if err := d.RevokeTokens(ctx, func(t *Token) bool { return t.UserID == id }); err != nil {
		return err
	}
	for _, org := range orgs {
		if err := d.del(ctx, memberKey(org, id)); err != nil {
			return err
		}
	}
	if err := d.del(ctx, userKey(id)); err != nil {
		return err
	}
	_ = d.delClaim(ctx, usernameKey(u.Username), id)
	if u.Email != "" {
		_ = d.delClaim(ctx, emailKey(u.Email), id)
	}
	return nil
}

// delClaim removes a uniqueness claim if it is still id's.
func (d *Directory) delClaim(ctx context.Context, key, id string) error {
	kv, err := d.st.Get(ctx, key)
	if err != nil || string(kv.Value) != id {
		return nil
	}
	_, err = d.st.Delete(ctx, key, store.IfModRevision(kv.ModRevision))
	return err
}

// CheckPassword verifies a user's password (no rate limit: the caller
// already holds a token).
func (d *Directory) CheckPassword(ctx context.Context, id, password string) (bool, error) {
	u, ok := d.User(id)
	if !ok {
		return false, ErrNotFound
	}
	return d.hash.verify(ctx, u.PasswordHash, password)
}

// Login checks a username-or-email and password. Failures are rate
// limited per client address and per login name; every failure is the
// same ErrBadLogin (an unknown name costs the same hash as a known one),
// so the answer never tells whether an account exists. ErrDisabled is
// only returned for a correct password. retry is set with ErrRateLimited.
func (d *Directory) Login(ctx context.Context, login, password, addr string) (u *User, retry time.Duration, err error) {
	// The account bucket is the user's when the name is known (so that
	// username and email share it), else the name's: unknown names are
	// limited exactly like known ones.
	user, found := d.UserByLogin(login)
	name := "n:" + strings.ToLower(login)
	if found {
		name = "u:" + user.ID
	}
	if len(name) > 300 {
		name = name[:300]
	}
	if blocked, wait := d.addrLim.blocked("a:" + addr); blocked {
		return nil, wait, ErrRateLimited
	}
	if blocked, wait := d.acctLim.blocked(name); blocked {
		return nil, wait, ErrRateLimited
	}
	fail := func() (*User, time.Duration, error) {
		d.addrLim.fail("a:" + addr)
		d.acctLim.fail(name)
		return nil, 0, ErrBadLogin
	}
	hash := d.hash.dummy()
	if found {
		hash = user.PasswordHash
	}
	ok, err := d.hash.verify(ctx, hash, password)
	if err != nil {
		return nil, 0, err
	}
	if !found || !ok || password == "" {
		return fail()
	}
	if user.Disabled {
		return nil, 0, ErrDisabled
	}
	return user, 0, nil
}

// Throttle spends one attempt of addr's budget for unauthenticated
// actions other than login (signup); ok is false when it is spent.
func (d *Directory) Throttle(addr string) (wait time.Duration, ok bool) {
	if blocked, wait := d.addrLim.blocked("s:" + addr); blocked {
		return wait, false
	}
	d.addrLim.fail("s:" + addr)
	return 0, true
}

// ---- tokens ----

// CreateToken issues a token for t.UserID (ID, times and secret are set
// here) and returns its secret, which is not stored and never shown again.
func (d *Directory) CreateToken(ctx context.Context, t Token, ttl time.Duration) (string, *Token, error) {
	if _, ok := d.User(t.UserID); !ok {
		return "", nil, ErrNotFound
	}
	if len(t.Notes) > 256 {
		return "", nil, invalid("notes must be at most 256 characters")
	}
	secret := newSecret(SecretPrefix)
	now := d.now()
	t.ID = newID('t')
	t.CreateTime = now.Unix()
	var opts []store.PutOption
	if ttl > 0 {
		// Whole seconds, rounded up: a token never dies before its ttl.
		end := now.Add(ttl)
		t.ExpiresAt = end.Unix()
		if end.Nanosecond() > 0 {
			t.ExpiresAt++
		}
		// The store forgets it a little after it stops working.
		opts = append(opts, store.WithTTL(ttl+time.Minute))
	}
	if err := d.put(ctx, tokenKey(secret), &t, 0, opts...); err != nil {
		return "", nil, err
	}
	return secret, cp(&t), nil
}

// Authenticate resolves a secret to its token and user. It reads the
// store (not the mirror), so a token revoked on any node stops working at
// once. Unknown, revoked and malformed secrets are ErrNotFound; a token
// past its expiry is ErrTokenExpired; a disabled user's is ErrDisabled.
func (d *Directory) Authenticate(ctx context.Context, secret string) (*Token, *User, error) {
	if !LooksLikeToken(secret) {
		return nil, nil, ErrNotFound
	}
	kv, err := d.st.Get(ctx, tokenKey(secret))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, ErrNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	var t Token
	if err := json.Unmarshal(kv.Value, &t); err != nil {
		return nil, nil, ErrNotFound
	}
	if t.ExpiresAt > 0 && d.now().Unix() >= t.ExpiresAt {
		return nil, nil, ErrTokenExpired
	}
	kvu, err := d.st.Get(ctx, userKey(t.UserID))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, ErrNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	var u User
	if err := json.Unmarshal(kvu.Value, &u); err != nil {
		return nil, nil, ErrNotFound
	}
	if u.Disabled {
		return nil, nil, ErrDisabled
	}
	return &t, &u, nil
}

// Token returns a token's metadata by id.
func (d *Directory) Token(id string) (*Token, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	t := d.tokens[d.tokenByID[id]]
	return cp(t), t != nil
}

// Tokens lists tokens matching keep, newest first.
func (d *Directory) Tokens(keep func(*Token) bool) []Token {
	d.mu.RLock()
	var out []Token
	for _, t := range d.tokens {
		if keep(t) {
			out = append(out, *t)
		}
	}
	d.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].CreateTime != out[j].CreateTime {
			return out[i].CreateTime > out[j].CreateTime
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// RevokeToken deletes one token by id.
func (d *Directory) RevokeToken(ctx context.Context, id string) error {
	d.mu.RLock()
	key, ok := d.tokenByID[id]
	d.mu.RUnlock()
	if !ok {
		return ErrNotFound
	}
	return d.del(ctx, key)
}

// RevokeTokens deletes every token matching match.
func (d *Directory) RevokeTokens(ctx context.Context, match func(*Token) bool) error {
	d.mu.RLock()
	var keys []string
	for k, t := range d.tokens {
		if match(t) {
			keys = append(keys, k)
		}
	}
	d.mu.RUnlock()
	for _, k := range keys {
		if err := d.del(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

// ---- organizations ----

// Org returns a copy of an organization.
func (d *Directory) Org(id string) (*Org, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	o := d.orgs[id]
	return cp(o), o != nil
}

// Orgs lists every organization by id.
func (d *Directory) Orgs() []Org {
	d.mu.RLock()
	out := make([]Org, 0, len(d.orgs))
	for _, o := range d.orgs {
		out = append(out, *o)
	}
	d.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Ancestors lists org's parent, grandparent, ...
func (d *Directory) Ancestors(org string) []string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.ancestorsLocked(org)
}

func (d *Directory) ancestorsLocked(org string) []string {
	var out []string
	seen := map[string]bool{org: true}
	for o := d.orgs[org]; o != nil && o.ParentID != "" && !seen[o.ParentID]; o = d.orgs[o.ParentID] {
		seen[o.ParentID] = true
		out = append(out, o.ParentID)
	}
	return out
}

// Descendants lists every organization below org.
func (d *Directory) Descendants(org string) []string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	var out []string
	var walk func(string, int)
	walk = func(o string, depth int) {
		if depth > 16 {
			return
		}
		kids := make([]string, 0, len(d.children[o]))
		for c := range d.children[o] {
			kids = append(kids, c)
		}
		sort.Strings(kids)
		for _, c := range kids {
			out = append(out, c)
			walk(c, depth+1)
		}
	}
	walk(org, 0)
	return out
}

// CreateOrg adds an organization; owner, when set, becomes its owner.
func (d *Directory) CreateOrg(ctx context.Context, name, parent, owner string) (*Org, error) {
	if err := ValidName("name", name, true); err != nil {
		return nil, err
	}
	if parent != "" {
		if _, ok := d.Org(parent); !ok {
			return nil, invalid("parent organization %s not found", parent)
		}
		if len(d.Ancestors(parent))+2 > d.opts.MaxOrgDepth {
			return nil, invalid("organizations nest at most %d deep", d.opts.MaxOrgDepth)
		}
	}
	if owner != "" {
		if _, ok := d.User(owner); !ok {
			return nil, invalid("user %s not found", owner)
		}
	}
	now := d.now().Unix()
	o := &Org{ID: newID('o'), Name: name, ParentID: parent, CreateTime: now, UpdateTime: now}
	if err := d.put(ctx, orgKey(o.ID), o, 0); err != nil {
		return nil, err
	}
	if owner != "" {
		if err := d.put(ctx, memberKey(o.ID, owner), &Member{OrgID: o.ID, UserID: owner, Role: RoleOwner, CreateTime: now, UpdateTime: now}, -1); err != nil {
			return nil, err
		}
	}
	return cp(o), nil
}

// RenameOrg changes an organization's name.
func (d *Directory) RenameOrg(ctx context.Context, id, name string) (*Org, error) {
	if err := ValidName("name", name, true); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		kv, err := d.st.Get(ctx, orgKey(id))
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrNotFound
		}
		if err != nil {
			return nil, err
		}
		var o Org
		if err := json.Unmarshal(kv.Value, &o); err != nil {
			return nil, fmt.Errorf("tenant: stored org %s: %w", id, err)
		}
		o.Name, o.UpdateTime = name, d.now().Unix()
		err = d.put(ctx, orgKey(id), &o, kv.ModRevision)
		if errors.Is(err, store.ErrConflict) && attempt < 5 {
			continue
		}
		if err != nil {
			return nil, err
		}
		return cp(&o), nil
	}
}

// DeleteOrg removes an organization with its memberships, invitations and
// bound tokens. One with child organizations is refused; the caller checks
// that it owns no objects.
func (d *Directory) DeleteOrg(ctx context.Context, id string) error {
	if _, ok := d.Org(id); !ok {
		return ErrNotFound
	}
	d.mu.RLock()
	nkids := len(d.children[id])
	var users []string
	for u := range d.members[id] {
		users = append(users, u)
	}
	var invites []string
	for k, in := range d.invites {
		if in.OrgID == id {
			invites = append(invites, k)
		}
	}
	d.mu.RUnlock()
	if nkids > 0 {
		return invalid("organization has %d child organization(s): delete them first", nkids)
	}
	if err := d.RevokeTokens(ctx, func(t *Token) bool { return t.OrgID == id }); err != nil {
		return err
	}
	for _, k := range invites {
		if err := d.del(ctx, k); err != nil {
			return err
		}
	}
	for _, u := range users {
		if err := d.del(ctx, memberKey(id, u)); err != nil {
			return err
		}
	}
	return d.del(ctx, orgKey(id))
}

// ---- memberships ----

// DirectRole is user's own role in org (no inheritance).
func (d *Directory) DirectRole(user, org string) Role {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.userOrgs[user][org]
}

// Role is user's effective role in org: the strongest of their role in
// org and in each of its ancestors (a reseller's staff keep their role in
// every sub-account). RoleNone when the org does not exist.
func (d *Directory) Role(user, org string) Role {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.orgs[org] == nil {
		return RoleNone
	}
	best := d.userOrgs[user][org]
	for _, a := range d.ancestorsLocked(org) {
		if r := d.userOrgs[user][a]; r.Rank() > best.Rank() {
			best = r
		}
	}
	return best
}

// Membership is one organization a user can act in.
type Membership struct {
	Org       Org  `json:"org"`
	Role      Role `json:"role"`
	Inherited bool `json:"inherited"`
}

// MembershipsOf lists the organizations user belongs to directly and,
// marked inherited, their descendants.
func (d *Directory) MembershipsOf(user string) []Membership {
	d.mu.RLock()
	direct := make([]string, 0, len(d.userOrgs[user]))
	for org := range d.userOrgs[user] {
		direct = append(direct, org)
	}
	d.mu.RUnlock()
	seen := map[string]bool{}
	var out []Membership
	for _, org := range direct {
		for _, o := range append([]string{org}, d.Descendants(org)...) {
			if seen[o] {
				continue
			}
			seen[o] = true
			od, ok := d.Org(o)
			if !ok {
				continue
			}
			out = append(out, Membership{Org: *od, Role: d.Role(user, o), Inherited: d.DirectRole(user, o) == RoleNone})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Org.ID < out[j].Org.ID })
	return out
}

// DirectOrgs lists the organizations user is a direct member of.
func (d *Directory) DirectOrgs(user string) []string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]string, 0, len(d.userOrgs[user]))
	for org := range d.userOrgs[user] {
		if d.orgs[org] != nil {
			out = append(out, org)
		}
	}
	sort.Strings(out)
	return out
}

// Members lists an organization's direct members by user id.
func (d *Directory) Members(org string) []Member {
	d.mu.RLock()
	out := make([]Member, 0, len(d.members[org]))
	for _, m := range d.members[org] {
		out = append(out, *m)
	}
	d.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].UserID < out[j].UserID })
	return out
}

// Member returns one direct membership.
func (d *Directory) Member(org, user string) (*Member, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	m := d.members[org][user]
	return cp(m), m != nil
}

// SetMember adds user to org with role, or changes their role. The owner
// role is only given by TransferOwnership (or when creating an org).
func (d *Directory) SetMember(ctx context.Context, org, user string, role Role) (*Member, error) {
	if _, ok := d.Org(org); !ok {
		return nil, ErrNotFound
	}
	if _, ok := d.User(user); !ok {
		return nil, invalid("user %s not found", user)
	}
	now := d.now().Unix()
	m := &Member{OrgID: org, UserID: user, Role: role, CreateTime: now, UpdateTime: now}
	if old, ok := d.Member(org, user); ok {
		if old.Role == RoleOwner && role != RoleOwner {
			return nil, invalid("the owner's role changes only by transferring ownership")
		}
		m.CreateTime = old.CreateTime
	}
	if err := d.put(ctx, memberKey(org, user), m, -1); err != nil {
		return nil, err
	}
	return cp(m), nil
}

// RemoveMember takes user out of org. The owner cannot be removed.
func (d *Directory) RemoveMember(ctx context.Context, org, user string) error {
	m, ok := d.Member(org, user)
	if !ok {
		return ErrNotFound
	}
	if m.Role == RoleOwner {
		return invalid("the owner cannot be removed: transfer ownership first")
	}
	if err := d.RevokeTokens(ctx, func(t *Token) bool { return t.UserID == user && t.OrgID == org }); err != nil {
		return err
	}
	return d.del(ctx, memberKey(org, user))
}

// TransferOwnership makes user (already a member) the owner; the previous
// owners become admins. The new owner is written first, so a crash
// between the writes leaves two owners, never none.
func (d *Directory) TransferOwnership(ctx context.Context, org, user string) error {
	if _, ok := d.Org(org); !ok {
		return ErrNotFound
	}
	m, ok := d.Member(org, user)
	if !ok {
		return invalid("user %s is not a member of the organization: add them first", user)
	}
	if m.Role == RoleOwner {
		return nil
	}
	now := d.now().Unix()
	m.Role, m.UpdateTime = RoleOwner, now
	if err := d.put(ctx, memberKey(org, user), m, -1); err != nil {
		return err
	}
	for _, other := range d.Members(org) {
		if other.UserID != user && other.Role == RoleOwner {
			other.Role, other.UpdateTime = RoleAdmin, now
			if err := d.put(ctx, memberKey(org, other.UserID), &other, -1); err != nil {
				return err
			}
		}
	}
	return nil
}

// ---- invitations ----

// CreateInvite records an invitation into org for email with role and
// returns the one-time code that accepts it (not stored; shown once).
func (d *Directory) CreateInvite(ctx context.Context, org, email string, role Role, by string) (string, *Invite, error) {
	if _, ok := d.Org(org); !ok {
		return "", nil, ErrNotFound
	}
	if err := ValidEmail(email); err != nil {
		return "", nil, err
	}
	code := newSecret(invitePrefix)
	now := d.now()
	in := &Invite{ID: newID('i'), OrgID: org, Email: email, Role: role, InvitedBy: by, CreateTime: now.Unix(), ExpiresAt: now.Add(d.opts.InviteTTL).Unix()}
	if err := d.put(ctx, inviteKey(code), in, 0, store.WithTTL(d.opts.InviteTTL)); err != nil {
		return "", nil, err
	}
	return code, cp(in), nil
}

// Invites lists an organization's pending invitations.
func (d *Directory) Invites(org string) []Invite {
	d.mu.RLock()
	var out []Invite
	now := d.now().Unix()
	for _, in := range d.invites {
		if in.OrgID == org && in.ExpiresAt > now {
			out = append(out, *in)
		}
	}
	d.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// DeleteInvite withdraws one invitation of org.
func (d *Directory) DeleteInvite(ctx context.Context, org, id string) error {
	d.mu.RLock()
	key, ok := d.inviteByID[id]
	in := d.invites[key]
	d.mu.RUnlock()
	if !ok || in == nil || in.OrgID != org {
		return ErrNotFound
	}
	return d.del(ctx, key)
}

// AcceptInvite spends an invitation code: user joins its organization
// with its role (a stronger existing role is kept).
func (d *Directory) AcceptInvite(ctx context.Context, code, user string) (*Member, error) {
	if !strings.HasPrefix(code, invitePrefix) {
		return nil, ErrNotFound
	}
	kv, err := d.st.Get(ctx, inviteKey(code))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var in Invite
	if err := json.Unmarshal(kv.Value, &in); err != nil || in.ExpiresAt <= d.now().Unix() {
		return nil, ErrNotFound
	}
	// Spend the code first: it works once, even under a race.
	if _, err := d.st.Delete(ctx, kv.Key, store.IfModRevision(kv.ModRevision)); err != nil {
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	d.apply(kv.Key, nil, kv.ModRevision+1, true)
	if cur := d.DirectRole(user, in.OrgID); cur.Rank() >= in.Role.Rank() {
		m, _ := d.Member(in.OrgID, user)
		return m, nil
	}
	return d.SetMember(ctx, in.OrgID, user, in.Role)
}

// Counts are totals for the operator's statistics.
type Counts struct {
	Users, Orgs, Members, Tokens, Sessions, Invites int
}

// Counts returns totals.
func (d *Directory) Counts() Counts {
	d.mu.RLock()
	defer d.mu.RUnlock()
	c := Counts{Users: len(d.users), Orgs: len(d.orgs), Invites: len(d.invites)}
	for _, m := range d.members {
		c.Members += len(m)
	}
	now := d.now().Unix()
	for _, t := range d.tokens {
		if t.ExpiresAt > 0 && t.ExpiresAt <= now {
			continue
		}
		if t.Kind == KindSession {
			c.Sessions++
		} else {
			c.Tokens++
		}
	}
	return c
}
