package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/stargate-edge/stargate/internal/authdns"
	"github.com/stargate-edge/stargate/internal/store"
)

// The DNS API (spec/dns.md): zones and their records under /dns/zones.
//
// Answers are plain objects (a zone, a record), lists are
// {"total":N,"list":[...]}; a missing zone or record is 404
// {"message":"Key not found"} like every other missing object, a
// duplicate zone 409, any other refusal 400 {"error_msg":...}.
//
// Every write bumps the zone's SOA serial: the record is written first,
// then the zone key is rewritten with the next serial by compare-and-swap,
// so concurrent writers never lose a bump and the DNS server, which
// recompiles on either key, serves the new serial with the new data.
// Writes to one zone are serialised in this process, which keeps the
// set-level checks (CNAME exclusivity, duplicates) exact.

// serveDNS answers /dns/...
func (s *Server) serveDNS(w http.ResponseWriter, r *http.Request, segs []string) error {
	if len(segs) == 0 || segs[0] != "zones" {
		return errMsg(http.StatusNotFound, "not found")
	}
	ctx := r.Context()
	segs = segs[1:]
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	switch {
	case len(segs) == 0:
		switch method {
		case http.MethodGet:
			return s.dnsListZones(ctx, w)
		case http.MethodPost:
			return s.dnsCreateZone(ctx, w, r)
		}
		return dnsNotSupported(r.Method, "dns zones")
	case segs[0] == "":
		return errMsg(http.StatusNotFound, "not found")
	}
	zone := dnsZoneParam(segs[0])
	segs = segs[1:]
	switch {
	case len(segs) == 0:
		switch method {
		case http.MethodGet:
			return s.dnsGetZone(ctx, w, zone)
		case http.MethodPatch:
			return s.dnsPatchZone(ctx, w, r, zone)
		case http.MethodDelete:
			return s.dnsDeleteZone(ctx, w, zone)
		}
		return dnsNotSupported(r.Method, "a dns zone")
	case len(segs) == 1 && segs[0] == "export":
		if method != http.MethodGet {
			return dnsNotSupported(r.Method, "zone export")
		}
		return s.dnsExport(ctx, w, zone)
	case len(segs) == 1 && segs[0] == "import":
		if method != http.MethodPost {
			return dnsNotSupported(r.Method, "zone import")
		}
		return s.dnsImport(ctx, w, r, zone)
	case segs[0] == "records" && len(segs) == 1:
		switch method {
		case http.MethodGet:
			return s.dnsListRecords(ctx, w, zone)
		case http.MethodPost:
			return s.dnsCreateRecord(ctx, w, r, zone)
		case http.MethodDelete:
			return s.dnsDeleteRecordIndex(ctx, w, r, zone)
		}
		return dnsNotSupported(r.Method, "dns records")
	case segs[0] == "records" && len(segs) == 2 && segs[1] != "":
		id := segs[1]
		switch method {
		case http.MethodGet:
			return s.dnsGetRecord(ctx, w, zone, id)
		case http.MethodPut, http.MethodPatch:
			return s.dnsUpdateRecord(ctx, w, r, zone, id, method == http.MethodPatch)
		case http.MethodDelete:
			return s.dnsDeleteRecord(ctx, w, zone, id)
		}
		return dnsNotSupported(r.Method, "a dns record")
	}
	return errMsg(http.StatusNotFound, "not found")
}

func dnsNotSupported(method, what string) error {
	return errMsg(http.StatusMethodNotAllowed, "not supported `%s` method for %s", method, what)
}

// dnsZoneParam is the zone of a path: lower case, no trailing dot. Names
// that are not zones simply are not found.
func dnsZoneParam(seg string) string {
	return strings.TrimSuffix(strings.ToLower(seg), ".")
}

// zoneLocks serialises writes to one zone in this process.
var zoneLocks = struct {
	sync.Mutex
	m map[string]*zoneLock
}{m: map[string]*zoneLock{}}

type zoneLock struct {
	sync.Mutex
	refs int
}

func lockZone(name string) func() {
	zoneLocks.Lock()
	l := zoneLocks.m[name]
	if l == nil {
		l = &zoneLock{}
		zoneLocks.m[name] = l
	}
	l.refs++
	zoneLocks.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		zoneLocks.Lock()
		if l.refs--; l.refs == 0 {
			delete(zoneLocks.m, name)
		}
		zoneLocks.Unlock()
	}
}

// zoneView is a zone as the API shows it.
type zoneView struct {
	authdns.Zone
	RecordCount int  `json:"record_count"`
	Reverse     bool `json:"reverse"`
}

func newZoneView(z authdns.Zone, count int) zoneView {
	return zoneView{Zone: z, RecordCount: count, Reverse: z.Reverse()}
}

// recordView is a record as the API shows it.
type recordView struct {
	authdns.Record
	Index int    `json:"index"`
	Name  string `json:"name"`
}

func newRecordView(z *authdns.Zone, r authdns.Record, index int) recordView {
	return recordView{Record: r, Index: index, Name: r.Name(z.Fqdn())}
}

// storedRecord is a record with its store key version.
type storedRecord struct {
	authdns.Record
	kv store.KV
}

func (s *Server) dnsLoadZone(ctx context.Context, name string) (authdns.Zone, store.KV, error) {
	if name == "" || strings.Contains(name, "/") {
		return authdns.Zone{}, store.KV{}, notFound()
	}
	kv, err := s.st.Get(ctx, authdns.ZoneKey(name))
	if err != nil {
		return authdns.Zone{}, store.KV{}, storeError(err)
	}
	var z authdns.Zone
	if err := json.Unmarshal(kv.Value, &z); err != nil {
		return authdns.Zone{}, store.KV{}, fmt.Errorf("admin: stored zone %s is not JSON: %w", name, err)
	}
	return z, kv, nil
}

// dnsLoadRecords lists a zone's records in id (= creation) order.
func (s *Server) dnsLoadRecords(ctx context.Context, name string) ([]storedRecord, error) {
	kvs, _, err := s.st.List(ctx, authdns.RecordPrefix(name))
	if err != nil {
		return nil, storeError(err)
	}
	out := make([]storedRecord, 0, len(kvs))
	for _, kv := range kvs {
		var r authdns.Record
		if err := json.Unmarshal(kv.Value, &r); err != nil {
			s.log.Warn("admin: stored dns record is not JSON; skipped", "key", kv.Key, "err", err)
			continue
		}
		r.ID = strings.TrimPrefix(kv.Key, authdns.RecordPrefix(name))
		out = append(out, storedRecord{Record: r, kv: kv})
	}
	return out, nil
}

func plainRecords(rs []storedRecord) []authdns.Record {
	out := make([]authdns.Record, len(rs))
	for i := range rs {
		out[i] = rs[i].Record
	}
	return out
}

// dnsBump rewrites the zone key with the next serial (after change, which
// may edit the settings and may set an explicit serial) by compare-and-swap,
// retrying when another writer got there first.
func (s *Server) dnsBump(ctx context.Context, name string, change func(z *authdns.Zone) (explicitSerial bool, err error)) (authdns.Zone, error) {
	for attempt := 0; ; attempt++ {
		z, kv, err := s.dnsLoadZone(ctx, name)
		if err != nil {
			return authdns.Zone{}, err
		}
		cur := z.Serial
		explicit := false
		if change != nil {
			if explicit, err = change(&z); err != nil {
				return authdns.Zone{}, err
			}
		}
		if !explicit {
			z.Serial = authdns.NextSerial(cur, time.Now())
		}
		z.UpdateTime = time.Now().Unix()
		raw, err := json.Marshal(z)
		if err != nil {
			return authdns.Zone{}, fmt.Errorf("admin: encode zone: %w", err)
		}
		_, err = s.st.Put(ctx, authdns.ZoneKey(name), raw, store.IfModRevision(kv.ModRevision))
		if errors.Is(err, store.ErrConflict) && attempt < 20 {
			continue
		}
		if err != nil {
			return authdns.Zone{}, storeError(err)
		}
		return z, nil
	}
}

// dnsNewID takes a fresh id the way the rest of the API does: the revision
// of a write to /apisix/gen_id, zero-padded, so ids sort by age.
func (s *Server) dnsNewID(ctx context.Context) (string, error) {
	gen, err := s.st.Put(ctx, "/apisix/gen_id", []byte("0"))
	if err != nil {
		return "", storeError(err)
	}
	return fmt.Sprintf("%020d", gen.ModRevision), nil
}
