package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/stargate-edge/stargate/internal/store"
)

// listBody is the list envelope; List is never null.
type listBody struct {
	Total int        `json:"total"`
	List  []envelope `json:"list"`
}

// listFilter holds the parsed query filters of a list.
type listFilter struct {
	name, uri *regexp.Regexp
	label     *string
	exact     map[string]string
}

func parseListFilter(q url.Values, t *target) (*listFilter, error) {
	f := &listFilter{}
	var err error
	if q.Has("name") {
		if f.name, err = regexp.Compile(q.Get("name")); err != nil {
			return nil, badRequest("invalid argument name: %v", err)
		}
	}
	if q.Has("uri") {
		if f.uri, err = regexp.Compile(q.Get("uri")); err != nil {
			return nil, badRequest("invalid argument uri: %v", err)
		}
	}
	if q.Has("label") {
		l := q.Get("label")
		f.label = &l
	}
	if q.Has("filter") {
		vals, err := url.ParseQuery(q.Get("filter"))
		if err != nil {
			return nil, badRequest("invalid argument filter: %v", err)
		}
		f.exact = map[string]string{}
		for k := range vals {
			allowed := false
			for _, a := range t.kind.ListFilterFields {
				allowed = allowed || a == k
			}
			if !allowed {
				return nil, badRequest("invalid argument filter: unsupported filter field %q", k)
			}
			f.exact[k] = vals.Get(k)
		}
	}
	return f, nil
}

func (f *listFilter) empty() bool {
	return f.name == nil && f.uri == nil && f.label == nil && f.exact == nil
}

func (f *listFilter) match(v map[string]any) bool {
	if f.name != nil {
		n, _ := v["name"].(string)
		if !f.name.MatchString(n) {
			return false
		}
	}
	if f.uri != nil {
		ok := false
		if u, isStr := v["uri"].(string); isStr && f.uri.MatchString(u) {
			ok = true
		}
		if us, isArr := v["uris"].([]any); isArr {
			for _, u := range us {
				if s, _ := u.(string); f.uri.MatchString(s) {
					ok = true
				}
			}
		}
		if !ok {
			return false
		}
	}
	if f.label != nil {
		// APISIX matches the label key only; an empty label matches nothing.
		labels, _ := v["labels"].(map[string]any)
		if _, ok := labels[*f.label]; !ok || *f.label == "" {
			return false
		}
	}
	for k, want := range f.exact {
		if idString(v[k]) != want || v[k] == nil {
			return false
		}
	}
	return true
}

// list answers GET /{kind}: key order unpaged, createdIndex order paged.
func (s *Server) list(ctx context.Context, w http.ResponseWriter, r *http.Request, t *target) error {
	q := r.URL.Query()
	f, err := parseListFilter(q, t)
	if err != nil {
		return err
	}
	page, pageSize, paged, err := parsePaging(q)
	if err != nil {
		return err
	}
	prefixes := []string{t.prefix + "/"}
	if t.kind.Name == "secrets" && t.schemaName == "" {
		prefixes = []string{t.kind.Prefix + "/"}
	}
	// A scoped caller's list comes from the owner index (a few reads, not
	// a scan of every organization's objects); credentials, which share
	// their consumer's owner, and big tenants take the filtered listing.
	var kvs []store.KV
	done := false
	if t.kind.Name != "credentials" && len(prefixes) == 1 {
		got, ok, err := s.scopedList(ctx, prefixes[0])
		if err != nil {
			return err
		}
		kvs, done = got, ok
	}
	for _, p := range prefixes {
		if done {
			break
		}
		got, _, err := s.st.List(ctx, p)
		if err != nil {
			return storeError(err)
		}
		kvs = append(kvs, got...)
	}
	scoped := principalOf(ctx).scoped()
	out := listBody{List: []envelope{}}
	for _, kv := range kvs {
		rest := strings.TrimPrefix(kv.Key, prefixes[0])
		// Only direct children: consumer credentials and the like live
		// deeper and are not part of the parent's list.
		depth := strings.Count(rest, "/")
		if (t.kind.Name == "secrets" && t.schemaName == "" && depth != 1) || (!(t.kind.Name == "secrets" && t.schemaName == "") && depth != 0) {
			continue
		}
		if rest == "gen_id" {
			continue
		}
		if scoped && !s.canSee(ctx, kv.Key) {
			continue
		}
		val := json.RawMessage(kv.Value)
		if !f.empty() || t.kind.Name == "ssls" {
			var m map[string]any
			if json.Unmarshal(kv.Value, &m) != nil {
				continue // unreadable values are the data plane's to report
			}
			if !f.match(m) {
				continue
			}
			if val, err = s.present(t, kv.Value); err != nil {
				return err
			}
		}
		out.List = append(out.List, envelope{Key: kv.Key, Value: val, CreatedIndex: kv.CreateRevision, ModifiedIndex: kv.ModRevision})
	}
	out.Total = len(out.List)
	if paged {
		sort.SliceStable(out.List, func(i, j int) bool { return out.List[i].CreatedIndex < out.List[j].CreatedIndex })
		start := (page - 1) * pageSize
		if start > len(out.List) {
			start = len(out.List)
		}
		end := min(start+pageSize, len(out.List))
		out.List = out.List[start:end]
	}
	s.writeList(w, out)
	return nil
}

// writeList encodes a list by hand: the stored values are already JSON, so
// they are checked (json.Valid, a scan) and copied, not re-encoded. This is
// most of the cost of listing 10k routes.
func (s *Server) writeList(w http.ResponseWriter, out listBody) {
	size := 32
	for _, e := range out.List {
		size += len(e.Key) + len(e.Value) + 80
	}
	b := make([]byte, 0, size)
	b = append(b, `{"total":`...)
	b = strconv.AppendInt(b, int64(out.Total), 10)
	b = append(b, `,"list":[`...)
	for i, e := range out.List {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"key":`...)
		kb, _ := json.Marshal(e.Key)
		b = append(b, kb...)
		b = append(b, `,"value":`...)
		if json.Valid(e.Value) {
			b = append(b, e.Value...)
		} else {
			b = append(b, "null"...)
			s.log.Error("admin: stored value is not JSON", "key", e.Key)
		}
		b = append(b, `,"createdIndex":`...)
		b = strconv.AppendInt(b, e.CreatedIndex, 10)
		b = append(b, `,"modifiedIndex":`...)
		b = strconv.AppendInt(b, e.ModifiedIndex, 10)
		b = append(b, '}')
	}
	b = append(b, "]}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// parsePaging applies APISIX's rules: paging happens only when both page
// and page_size are numbers; page_size must be 10..500 (plain-text 400).
func parsePaging(q url.Values) (page, size int, paged bool, err error) {
	p, perr := strconv.Atoi(q.Get("page"))
	ps, serr := strconv.Atoi(q.Get("page_size"))
	if perr != nil || serr != nil {
		return 0, 0, false, nil
	}
	if ps < 10 || ps > 500 {
		return 0, 0, false, &apiError{status: http.StatusBadRequest, plain: "page_size must be between 10 and 500"}
	}
	if p < 1 {
		p = 1
	}
	return p, ps, true, nil
}
