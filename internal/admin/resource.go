package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stargate-edge/stargate/internal/resource"
	"github.com/stargate-edge/stargate/internal/schema"
	"github.com/stargate-edge/stargate/internal/store"
)

// target is the object a request addresses.
type target struct {
	kind *resource.Kind
	// schemaName overrides kind.SchemaName (secrets per manager).
	schemaName string
	// prefix is the store directory of the collection (without slash).
	prefix string
	// id is the object id as stored in value.id ("vault/1" for secrets).
	id string
	// keyID is the last key segment(s) after prefix.
	keyID string
	sub   []string
	// consumer is set for credentials.
	consumer string
}

func (t *target) key() string { return t.prefix + "/" + t.keyID }

func (t *target) schema() string {
	if t.schemaName != "" {
		return t.schemaName
	}
	return t.kind.SchemaName
}

var secretManagers = map[string]bool{"vault": true, "aws": true, "gcp": true}

// parseTarget maps path segments to a target.
func parseTarget(segs []string) (*target, error) {
	k, ok := resource.Lookup(segs[0])
	if !ok {
		return nil, errMsg(http.StatusNotFound, "Unsupported resource type: %s", segs[0])
	}
	t := &target{kind: k, prefix: k.Prefix}
	switch k.Name {
	case "secrets":
		if len(segs) >= 2 {
			if !secretManagers[segs[1]] {
				return nil, badRequest("invalid secret manager: %s", segs[1])
			}
			t.schemaName = "secret_" + segs[1]
			t.prefix = k.Prefix + "/" + segs[1]
			if len(segs) >= 3 {
				t.keyID = segs[2]
				t.id = segs[1] + "/" + segs[2]
				t.sub = segs[3:]
			}
		}
	case "consumers":
		if len(segs) >= 3 && segs[2] == "credentials" {
			t.consumer = segs[1]
			t.kind = resource.Credentials
			t.prefix = k.Prefix + "/" + segs[1] + "/credentials"
			if len(segs) >= 4 {
				t.id, t.keyID, t.sub = segs[3], segs[3], segs[4:]
			}
			return t, nil
		}
		fallthrough
	default:
		if len(segs) >= 2 {
			t.id, t.keyID, t.sub = segs[1], segs[1], segs[2:]
		}
	}
	return t, nil
}

func (s *Server) serveResource(w http.ResponseWriter, r *http.Request, segs []string) error {
	t, err := parseTarget(segs)
	if err != nil {
		return err
	}
	ctx := r.Context()
	if err := s.scopeResource(ctx, t, r.Method); err != nil {
		return err
	}
	if t.kind.Name == "secrets" && t.schemaName == "" && r.Method != http.MethodGet {
		return badRequest("missing secret manager")
	}
	switch r.Method {
	case http.MethodGet:
		if t.id == "" {
			return s.list(ctx, w, r, t)
		}
		return s.get(ctx, w, t)
	case http.MethodPut:
		return s.put(ctx, w, r, t)
	case http.MethodPost:
		if t.kind.NoPost {
			return notSupported(r.Method, t.kind)
		}
		return s.post(ctx, w, r, t)
	case http.MethodPatch:
		if t.kind.NoPatch {
			return notSupported(r.Method, t.kind)
		}
		return s.patch(ctx, w, r, t)
	case http.MethodDelete:
		return s.delete(ctx, w, r, t)
	}
	return errMsg(http.StatusNotFound, "not found")
}

func notSupported(method string, k *resource.Kind) error {
	return errMsg(http.StatusMethodNotAllowed, "not supported `%s` method for %s", method, k.Label)
}

// envelope is one object as the API returns it.
type envelope struct {
	Key           string          `json:"key"`
	Value         json.RawMessage `json:"value"`
	CreatedIndex  int64           `json:"createdIndex,omitempty"`
	ModifiedIndex int64           `json:"modifiedIndex,omitempty"`
}

func (s *Server) get(ctx context.Context, w http.ResponseWriter, t *target) error {
	kv, err := s.st.Get(ctx, t.key())
	if err != nil {
		return storeError(err)
	}
	if !s.canSee(ctx, kv.Key) {
		return notFound()
	}
	val, err := s.present(t, kv.Value)
	if err != nil {
		return err
	}
	s.writeJSON(w, http.StatusOK, envelope{Key: kv.Key, Value: val, CreatedIndex: kv.CreateRevision, ModifiedIndex: kv.ModRevision})
	return nil
}

// present turns a stored value into what the API shows: ssl key material
// is removed and certificate facts are added.
func (s *Server) present(t *target, raw []byte) (json.RawMessage, error) {
	if t.kind.Name != "ssls" {
		return raw, nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("admin: stored ssl is not JSON: %w", err)
	}
	presentSSL(m)
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("admin: encode ssl: %w", err)
	}
	return b, nil
}

// writeOpts reads ?ttl=N.
func writeOpts(r *http.Request) ([]store.PutOption, error) {
	q := r.URL.Query()
	if !q.Has("ttl") {
		return nil, nil
	}
	n, err := strconv.ParseFloat(q.Get("ttl"), 64)
	if err != nil || n <= 0 || n > 1e9 {
		return nil, badRequest("invalid argument ttl: should be a number")
	}
	return []store.PutOption{store.WithTTL(time.Duration(n * float64(time.Second)))}, nil
}

func (s *Server) put(ctx context.Context, w http.ResponseWriter, r *http.Request, t *target) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	conf, err := decodeObject(body)
	if err != nil {
		return err
	}
	if len(t.sub) > 0 {
		return errMsg(http.StatusNotFound, "not found")
	}
	if err := checkForbiddenTimes(conf); err != nil {
		return err
	}
	// The id comes from the URL, else from the body.
	bodyID, hasBodyID := conf[t.kind.IDField]
	if t.id == "" {
		if !hasBodyID || t.kind.Name == "secrets" {
			return badRequest("missing %s %s", t.kind.Label, idWord(t.kind))
		}
		t.id = idString(bodyID)
		t.keyID = t.id
		if t.id == "" || strings.Contains(t.id, "/") {
			return badRequest("invalid configuration: property %q validation failed: object matches none of the required", t.kind.IDField)
		}
	} else if hasBodyID && idString(bodyID) != lastSeg(t.id) {
		return badRequest("wrong %s %s", t.kind.Label, idWord(t.kind))
	}
	opts, err := writeOpts(r)
	if err != nil {
		return err
	}
	if err := s.checkParent(ctx, t); err != nil {
		return err
	}
	defer s.lockClaims(ctx, t.kind.Name)()
	for attempt := 0; ; attempt++ {
		prev, err := s.st.Get(ctx, t.key())
		exists := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return storeError(err)
		}
		if exists && !s.canSee(ctx, prev.Key) {
			return idTaken(t)
		}
		value := schema.DeepCopy(conf).(map[string]any)
		now := time.Now().Unix()
		value["create_time"] = now
		if exists {
			var old map[string]any
			if json.Unmarshal(prev.Value, &old) == nil {
				if ct, ok := old["create_time"]; ok {
					value["create_time"] = ct
				}
			}
		}
		value["update_time"] = now
		raw, err := s.prepare(ctx, r, t, value)
		if err != nil {
			return err
		}
		cond := int64(0)
		if exists {
			cond = prev.ModRevision
		}
		kv, err := s.st.Put(ctx, t.key(), raw, append(opts, store.IfModRevision(cond))...)
		if errors.Is(err, store.ErrConflict) && attempt < 3 {
			continue // a concurrent writer won; judge against the new state
		}
		if err != nil {
			return storeError(err)
		}
		if !exists {
			if err := s.ownNew(ctx, t, kv, opts); err != nil {
				return err
			}
		}
		if p := principalOf(ctx); p != nil {
			p.auditID = t.id
		}
		s.afterWrite(ctx, w, t, kv)
		s.warn(w, t)
		status := http.StatusCreated
		if exists {
			status = http.StatusOK
		}
		val, err := s.present(t, raw)
		if err != nil {
			return err
		}
		s.writeJSON(w, status, envelope{Key: kv.Key, Value: val})
		return nil
	}
}

func (s *Server) post(ctx context.Context, w http.ResponseWriter, r *http.Request, t *target) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	conf, err := decodeObject(body)
	if err != nil {
		return err
	}
	if _, has := conf[t.kind.IDField]; has || t.id != "" {
		return badRequest("wrong %s id, do not need it", t.kind.Label)
	}
	if err := checkForbiddenTimes(conf); err != nil {
		return err
	}
	opts, err := writeOpts(r)
	if err != nil {
		return err
	}
	now := time.Now().Unix()
	conf["create_time"], conf["update_time"] = now, now
	defer s.lockClaims(ctx, t.kind.Name)()
	// Validate under a placeholder id first: a refused POST must write
	// nothing, not even the id counter.
	t.id = strings.Repeat("0", 20)
	if _, err := s.prepare(ctx, r, t, conf); err != nil {
		return err
	}
	// APISIX takes the id from the revision of a dummy write to gen_id: ids
	// rise across all kinds, and zero-padding keeps key order = age order.
	gen, err := s.st.Put(ctx, "/apisix/gen_id", []byte("0"))
	if err != nil {
		return storeError(err)
	}
	t.id = fmt.Sprintf("%020d", gen.ModRevision)
	t.keyID = t.id
	conf[t.kind.IDField] = t.id
	raw, err := json.Marshal(conf)
	if err != nil {
		return fmt.Errorf("admin: encode %s: %w", t.key(), err)
	}
	kv, err := s.st.Put(ctx, t.key(), raw, append(opts, store.IfModRevision(0))...)
	if err != nil {
		return storeError(err)
	}
	if p := principalOf(ctx); p != nil {
		p.auditID = t.id
	}
	if err := s.ownNew(ctx, t, kv, opts); err != nil {
		return err
	}
	s.afterWrite(ctx, w, t, kv)
	s.warn(w, t)
	val, err := s.present(t, raw)
	if err != nil {
		return err
	}
	s.writeJSON(w, http.StatusCreated, envelope{Key: kv.Key, Value: val})
	return nil
}

func (s *Server) patch(ctx context.Context, w http.ResponseWriter, r *http.Request, t *target) error {
	if t.id == "" {
		return badRequest("missing %s id", t.kind.Label)
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return badRequest("missing new configuration")
	}
	patchVal, err := decodeJSON(body)
	if err != nil {
		return err
	}
	opts, err := writeOpts(r)
	if err != nil {
		return err
	}
	obj, isObj := patchVal.(map[string]any)
	if len(t.sub) == 0 && !isObj {
		return badRequest("invalid configuration")
	}
	defer s.lockClaims(ctx, t.kind.Name)()
	old, err := s.st.Get(ctx, t.key())
	if err != nil {
		return storeError(err)
	}
	if !s.canSee(ctx, old.Key) {
		return notFound()
	}
	var value map[string]any
	if err := json.Unmarshal(old.Value, &value); err != nil {
		return fmt.Errorf("admin: stored %s is not JSON: %w", t.key(), err)
	}
	value = numbersExact(value)
	if t.kind.Name == "ssls" {
		if err := s.decryptSSL(value); err != nil {
			return err
		}
	}
	if len(t.sub) > 0 {
		if err := patchPath(value, t.sub, schema.DeepCopy(patchVal)); err != nil {
			return err
		}
		value["update_time"] = time.Now().Unix()
	} else {
		value = mergePatch(value, obj)
		if _, set := obj["update_time"]; !set {
			value["update_time"] = time.Now().Unix()
		}
	}
	raw, err := s.prepare(ctx, r, t, value)
	if err != nil {
		return err
	}
	kv, err := s.st.Put(ctx, t.key(), raw, append(opts, store.IfModRevision(old.ModRevision))...)
	if err != nil {
		return storeError(err)
	}
	s.afterWrite(ctx, w, t, kv)
	s.warn(w, t)
	val, err := s.present(t, raw)
	if err != nil {
		return err
	}
	s.writeJSON(w, http.StatusOK, envelope{Key: kv.Key, Value: val})
	return nil
}

func (s *Server) delete(ctx context.Context, w http.ResponseWriter, r *http.Request, t *target) error {
	if t.id == "" {
		return badRequest("missing %s %s", t.kind.Label, idWord(t.kind))
	}
	old, err := s.st.Get(ctx, t.key())
	if err != nil {
		return storeError(err)
	}
	if !s.canSee(ctx, old.Key) {
		return notFound()
	}
	if r.URL.Query().Get("force") != "true" {
		if err := s.checkDelete(ctx, t); err != nil {
			return err
		}
	}
	if _, err := s.st.Delete(ctx, t.key(), store.IfModRevision(old.ModRevision)); err != nil {
		return storeError(err)
	}
	s.dropOwner(ctx, t.key())
	s.afterDelete(ctx, w, t, old)
	if t.kind.Name == "consumers" {
		// A consumer's credentials go with it.
		creds, _, err := s.st.List(ctx, t.key()+"/credentials/")
		if err != nil {
			return storeError(err)
		}
		for _, c := range creds {
			if _, err := s.st.Delete(ctx, c.Key); err != nil && !errors.Is(err, store.ErrNotFound) {
				return storeError(err)
			}
		}
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"deleted": "1", "key": t.key()})
	return nil
}

// ownNew records the owner of an object just created. If that fails the
// object is taken back, so no user object is ever left without an owner
// (which would make it the platform's).
func (s *Server) ownNew(ctx context.Context, t *target, kv store.KV, opts []store.PutOption) error {
	if t.consumer != "" {
		return nil // credentials share their consumer's owner
	}
	if err := s.recordOwner(ctx, kv.Key, opts...); err != nil {
		if _, derr := s.st.Delete(ctx, kv.Key, store.IfModRevision(kv.ModRevision)); derr != nil {
			s.log.Error("admin: object left without its owner record", "key", kv.Key, "err", derr)
		}
		return err
	}
	return nil
}

// checkParent makes sure a credential's consumer exists.
func (s *Server) checkParent(ctx context.Context, t *target) error {
	if t.consumer == "" {
		return nil
	}
	ck, _ := resource.Lookup("consumers")
	if _, err := s.st.Get(ctx, ck.Key(t.consumer)); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errMsg(http.StatusNotFound, "consumer not found")
		}
		return storeError(err)
	}
	if !s.canSee(ctx, ck.Key(t.consumer)) {
		return errMsg(http.StatusNotFound, "consumer not found")
	}
	return nil
}

func idWord(k *resource.Kind) string {
	if k.IDField == "username" {
		return "username"
	}
	return "id"
}

func lastSeg(id string) string {
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		return id[i+1:]
	}
	return id
}

// idString renders a body id the way APISIX compares it: numbers as their
// decimal text.
func idString(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case json.Number:
		return t.String()
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// numbersExact re-decodes a value so numbers are json.Number, as in
// request bodies (json.Unmarshal into any gives float64).
func numbersExact(m map[string]any) map[string]any {
	b, err := json.Marshal(m)
	if err != nil {
		return m
	}
	v, err := decodeJSON(b)
	if err != nil {
		return m
	}
	out, _ := v.(map[string]any)
	return out
}

// checkForbiddenTimes refuses create_time/update_time in PUT and POST bodies
// (top level, inline upstream, and each plugin's config), as APISIX does.
func checkForbiddenTimes(conf map[string]any) error {
	check := func(m map[string]any) error {
		for _, f := range []string{"create_time", "update_time"} {
			if _, ok := m[f]; ok {
				return badRequest("the property is forbidden:  %s", f)
			}
		}
		return nil
	}
	if err := check(conf); err != nil {
		return err
	}
	if up, ok := conf["upstream"].(map[string]any); ok {
		if err := check(up); err != nil {
			return err
		}
	}
	if plugins, ok := conf["plugins"].(map[string]any); ok {
		for _, pc := range plugins {
			if m, ok := pc.(map[string]any); ok {
				if err := check(m); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
