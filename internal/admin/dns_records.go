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

	"github.com/stargate-edge/stargate/internal/authdns"
	"github.com/stargate-edge/stargate/internal/store"
)

var (
	recordFields         = map[string]bool{"label": true, "type": true, "ttl": true, "value": true, "priority": true, "weight": true, "port": true, "flags": true, "tag": true}
	readOnlyRecordFields = map[string]bool{"index": true, "name": true, "create_time": true, "update_time": true}
)

// recordFromMap reads a record from a decoded body; id, when present, must
// be wantID.
func recordFromMap(m map[string]any, wantID string) (authdns.Record, error) {
	var r authdns.Record
	for k, v := range m {
		switch {
		case recordFields[k] || readOnlyRecordFields[k]:
		case k == "id":
			if idString(v) != wantID {
				if wantID == "" {
					return r, badRequest("invalid configuration: id is generated, do not send it")
				}
				return r, badRequest("invalid configuration: id %q does not match the path's id %s", idString(v), wantID)
			}
		default:
			return r, badRequest("invalid configuration: unknown field %q (record fields: label, type, ttl, value, priority, weight, port, flags, tag)", k)
		}
	}
	var err error
	if r.Label, err = optString(m, "label"); err != nil {
		return r, err
	}
	if r.Type, err = optString(m, "type"); err != nil {
		return r, err
	}
	if r.Value, err = optString(m, "value"); err != nil {
		return r, err
	}
	if r.Tag, err = optString(m, "tag"); err != nil {
		return r, err
	}
	if _, has := m["label"]; !has {
		return r, badRequest("invalid configuration: label is required (\"@\" for the zone apex)")
	}
	if _, has := m["value"]; !has {
		return r, badRequest("invalid configuration: value is required")
	}
	if v, ok := m["ttl"]; ok && v != nil {
		if r.TTL, err = optUint32(m, "ttl", 1, authdns.MaxTTL); err != nil {
			return r, err
		}
	}
	u16 := func(k string) (*uint16, error) {
		v, ok := m[k]
		if !ok || v == nil {
			return nil, nil
		}
		n, err := optUint32(m, k, 0, 65535)
		if err != nil {
			return nil, err
		}
		x := uint16(n) //nolint:gosec // range checked
		return &x, nil
	}
	if r.Priority, err = u16("priority"); err != nil {
		return r, err
	}
	if r.Weight, err = u16("weight"); err != nil {
		return r, err
	}
	if r.Port, err = u16("port"); err != nil {
		return r, err
	}
	if v, ok := m["flags"]; ok && v != nil {
		n, err := optUint32(m, "flags", 0, 255)
		if err != nil {
			return r, err
		}
		f := uint8(n) //nolint:gosec // range checked
		r.Flags = &f
	}
	return r, nil
}

// dnsCheckRecord normalizes rec for zone z and checks it against the
// zone's other records.
func dnsCheckRecord(z *authdns.Zone, rec *authdns.Record, others []storedRecord) error {
	if err := rec.Normalize(z); err != nil {
		return badRequest("invalid record: %v", err)
	}
	if err := authdns.Conflict(z, rec, plainRecords(others)); err != nil {
		return badRequest("invalid record: %v", err)
	}
	return nil
}

func (s *Server) dnsListRecords(ctx context.Context, w http.ResponseWriter, name string) error {
	z, _, err := s.dnsLoadZone(ctx, name)
	if err != nil {
		return err
	}
	recs, err := s.dnsLoadRecords(ctx, name)
	if err != nil {
		return err
	}
	list := make([]recordView, len(recs))
	for i := range recs {
		list[i] = newRecordView(&z, recs[i].Record, i)
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"total": len(list), "list": list})
	return nil
}

func (s *Server) dnsGetRecord(ctx context.Context, w http.ResponseWriter, name, id string) error {
	z, _, err := s.dnsLoadZone(ctx, name)
	if err != nil {
		return err
	}
	recs, err := s.dnsLoadRecords(ctx, name)
	if err != nil {
		return err
	}
	for i := range recs {
		if recs[i].ID == id {
			s.writeJSON(w, http.StatusOK, newRecordView(&z, recs[i].Record, i))
			return nil
		}
	}
	return notFound()
}

func (s *Server) dnsCreateRecord(ctx context.Context, w http.ResponseWriter, r *http.Request, name string) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	m, err := decodeObject(body)
	if err != nil {
		return err
	}
	rec, err := recordFromMap(m, "")
	if err != nil {
		return err
	}
	unlock := lockZone(name)
	defer unlock()
	z, _, err := s.dnsLoadZone(ctx, name)
	if err != nil {
		return err
	}
	recs, err := s.dnsLoadRecords(ctx, name)
	if err != nil {
		return err
	}
	if err := dnsCheckRecord(&z, &rec, recs); err != nil {
		return err
	}
	if rec.ID, err = s.dnsNewID(ctx); err != nil {
		return err
	}
	now := time.Now().Unix()
	rec.CreateTime, rec.UpdateTime = now, now
	if err := s.dnsPutRecord(ctx, name, rec, 0); err != nil {
		return err
	}
	if _, err := s.dnsBump(ctx, name, nil); err != nil {
		return err
	}
	s.writeJSON(w, http.StatusCreated, newRecordView(&z, rec, len(recs)))
	return nil
}

// dnsPutRecord stores a record (id kept out of the value: the key holds it)
// with compare-and-swap on rev (0: must not exist).
func (s *Server) dnsPutRecord(ctx context.Context, zone string, rec authdns.Record, rev int64) error {
	stored := rec
	stored.ID = ""
	raw, err := json.Marshal(stored)
	if err != nil {
		return fmt.Errorf("admin: encode record: %w", err)
	}
	if _, err := s.st.Put(ctx, authdns.RecordKey(zone, rec.ID), raw, store.IfModRevision(rev)); err != nil {
		return storeError(err)
	}
	return nil
}

func (s *Server) dnsUpdateRecord(ctx context.Context, w http.ResponseWriter, r *http.Request, name, id string, patch bool) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	m, err := decodeObject(body)
	if err != nil {
		return err
	}
	unlock := lockZone(name)
	defer unlock()
	z, _, err := s.dnsLoadZone(ctx, name)
	if err != nil {
		return err
	}
	recs, err := s.dnsLoadRecords(ctx, name)
	if err != nil {
		return err
	}
	idx := -1
	for i := range recs {
		if recs[i].ID == id {
			idx = i
		}
	}
	if idx < 0 {
		return notFound()
	}
	old := recs[idx]
	if patch {
		raw, err := json.Marshal(old.Record)
		if err != nil {
			return err
		}
		var cur map[string]any
		if err := json.Unmarshal(raw, &cur); err != nil {
			return err
		}
		delete(cur, "id")
		m = mergePatch(numbersExact(cur), m)
	}
	rec, err := recordFromMap(m, id)
	if err != nil {
		return err
	}
	rec.ID = id
	if err := dnsCheckRecord(&z, &rec, recs); err != nil {
		return err
	}
	rec.CreateTime, rec.UpdateTime = old.CreateTime, time.Now().Unix()
	if err := s.dnsPutRecord(ctx, name, rec, old.kv.ModRevision); err != nil {
		return err
	}
	if _, err := s.dnsBump(ctx, name, nil); err != nil {
		return err
	}
	s.writeJSON(w, http.StatusOK, newRecordView(&z, rec, idx))
	return nil
}

func (s *Server) dnsDeleteRecord(ctx context.Context, w http.ResponseWriter, name, id string) error {
	unlock := lockZone(name)
	defer unlock()
	if _, _, err := s.dnsLoadZone(ctx, name); err != nil {
		return err
	}
	return s.dnsDeleteOne(ctx, w, name, id)
}

func (s *Server) dnsDeleteOne(ctx context.Context, w http.ResponseWriter, name, id string) error {
	key := authdns.RecordKey(name, id)
	if strings.Contains(id, "/") {
		return notFound()
	}
	if _, err := s.st.Delete(ctx, key); err != nil {
		return storeError(err)
	}
	if _, err := s.dnsBump(ctx, name, nil); err != nil {
		return err
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"deleted": "1", "key": key, "id": id})
	return nil
}

// dnsDeleteRecordIndex is PacketFrame's delete by list index:
// DELETE /dns/zones/{zone}/records?index=N (0-based, list order).
func (s *Server) dnsDeleteRecordIndex(ctx context.Context, w http.ResponseWriter, r *http.Request, name string) error {
	q := r.URL.Query()
	if !q.Has("index") {
		return badRequest("missing index: DELETE /dns/zones/{zone}/records/{id} or /dns/zones/{zone}/records?index=N")
	}
	n, err := strconv.Atoi(q.Get("index"))
	if err != nil || n < 0 {
		return badRequest("invalid index %q: a record's 0-based position in the list", q.Get("index"))
	}
	unlock := lockZone(name)
	defer unlock()
	if _, _, err := s.dnsLoadZone(ctx, name); err != nil {
		return err
	}
	recs, err := s.dnsLoadRecords(ctx, name)
	if err != nil {
		return err
	}
	if n >= len(recs) {
		return notFound()
	}
	err = s.dnsDeleteOne(ctx, w, name, recs[n].ID)
	if errors.Is(err, store.ErrNotFound) {
		return notFound()
	}
	return err
}
