package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/stargate-edge/stargate/internal/authdns"
	"github.com/stargate-edge/stargate/internal/schema"
	"github.com/stargate-edge/stargate/internal/store"
)

// zoneFields are the settings a zone body may hold; readOnlyZoneFields are
// accepted (a GET answer sent back) and ignored.
var (
	zoneFields         = map[string]bool{"zone": true, "ttl": true, "soa": true, "nameservers": true, "secondaries": true, "allow_transfer": true, "serial": true}
	readOnlyZoneFields = map[string]bool{"record_count": true, "reverse": true, "create_time": true, "update_time": true}
	soaFields          = []string{"mname", "rname", "refresh", "retry", "expire", "minimum"}
)

// zoneFromMap reads zone settings from a decoded body, with messages that
// name the field.
func zoneFromMap(m map[string]any) (authdns.Zone, error) {
	var z authdns.Zone
	for k := range m {
		if !zoneFields[k] && !readOnlyZoneFields[k] {
			return z, badRequest("invalid configuration: unknown field %q (zone fields: zone, ttl, soa, nameservers, secondaries, allow_transfer)", k)
		}
	}
	var err error
	if z.Name, err = optString(m, "zone"); err != nil {
		return z, err
	}
	if z.TTL, err = optUint32(m, "ttl", 1, authdns.MaxTTL); err != nil {
		return z, err
	}
	if z.Serial, err = optUint32(m, "serial", 0, 1<<32-1); err != nil {
		return z, err
	}
	if v, ok := m["soa"]; ok && v != nil {
		sm, ok := v.(map[string]any)
		if !ok {
			return z, badRequest("invalid configuration: soa must be an object")
		}
		for k := range sm {
			known := false
			for _, f := range soaFields {
				known = known || f == k
			}
			if !known {
				return z, badRequest("invalid configuration: unknown soa field %q (%s)", k, strings.Join(soaFields, ", "))
			}
		}
		if z.SOA.MName, err = optString(sm, "mname"); err != nil {
			return z, err
		}
		if z.SOA.RName, err = optString(sm, "rname"); err != nil {
			return z, err
		}
		for _, f := range []struct {
			name string
			v    *uint32
		}{{"refresh", &z.SOA.Refresh}, {"retry", &z.SOA.Retry}, {"expire", &z.SOA.Expire}, {"minimum", &z.SOA.Minimum}} {
			if *f.v, err = optUint32As(sm, f.name, "soa."+f.name, 1, authdns.MaxTTL); err != nil {
				return z, err
			}
		}
	}
	if z.Nameservers, err = optStrings(m, "nameservers"); err != nil {
		return z, err
	}
	if z.Secondaries, err = optStrings(m, "secondaries"); err != nil {
		return z, err
	}
	if z.AllowTransfer, err = optStrings(m, "allow_transfer"); err != nil {
		return z, err
	}
	return z, nil
}

func optString(m map[string]any, k string) (string, error) {
	v, ok := m[k]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", badRequest("invalid configuration: %s must be a string, got %s", k, jsonType(v))
	}
	return s, nil
}

// optUint32 reads an integer field in [lo, hi]; absent or null is 0.
func optUint32(m map[string]any, k string, lo, hi int64) (uint32, error) {
	return optUint32As(m, k, k, lo, hi)
}

// optUint32As is optUint32 with the field's display name.
func optUint32As(m map[string]any, k, display string, lo, hi int64) (uint32, error) {
	v, ok := m[k]
	if !ok || v == nil {
		return 0, nil
	}
	n, ok := v.(json.Number)
	if !ok {
		return 0, badRequest("invalid configuration: %s must be an integer, got %s", display, jsonType(v))
	}
	i, err := n.Int64()
	if err != nil || i < lo || i > hi {
		return 0, badRequest("invalid configuration: %s must be an integer from %d to %d", display, lo, hi)
	}
	return uint32(i), nil //nolint:gosec // range checked
}

func optStrings(m map[string]any, k string) ([]string, error) {
	v, ok := m[k]
	if !ok || v == nil {
		return nil, nil
	}
	a, ok := v.([]any)
	if !ok {
		return nil, badRequest("invalid configuration: %s must be an array of strings", k)
	}
	out := make([]string, 0, len(a))
	for i, e := range a {
		s, ok := e.(string)
		if !ok {
			return nil, badRequest("invalid configuration: %s[%d] must be a string", k, i)
		}
		out = append(out, s)
	}
	return out, nil
}

func (s *Server) dnsListZones(ctx context.Context, w http.ResponseWriter) error {
	kvs, _, err := s.st.List(ctx, authdns.ZonesPrefix)
	if err != nil {
		return storeError(err)
	}
	recs, _, err := s.st.List(ctx, authdns.RecordsPrefix)
	if err != nil {
		return storeError(err)
	}
	counts := map[string]int{}
	for _, kv := range recs {
		zone, _, _ := strings.Cut(strings.TrimPrefix(kv.Key, authdns.RecordsPrefix), "/")
		counts[zone]++
	}
	list := make([]zoneView, 0, len(kvs))
	for _, kv := range kvs {
		var z authdns.Zone
		if err := json.Unmarshal(kv.Value, &z); err != nil {
			s.log.Warn("admin: stored zone is not JSON; skipped", "key", kv.Key, "err", err)
			continue
		}
		list = append(list, newZoneView(z, counts[z.Name]))
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"total": len(list), "list": list})
	return nil
}

func (s *Server) dnsCreateZone(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	m, err := decodeObject(body)
	if err != nil {
		return err
	}
	z, err := zoneFromMap(m)
	if err != nil {
		return err
	}
	if z.Name == "" {
		return badRequest("invalid configuration: zone is required, e.g. {\"zone\":\"example.com\"}")
	}
	if _, has := m["serial"]; has {
		return badRequest("invalid configuration: serial is set by Stargate on create")
	}
	if err := z.Normalize(); err != nil {
		return badRequest("invalid zone: %v", err)
	}
	unlock := lockZone(z.Name)
	defer unlock()
	if _, err := s.st.Get(ctx, authdns.ZoneKey(z.Name)); err == nil {
		return errMsg(http.StatusConflict, "zone %s already exists", z.Name)
	} else if !errors.Is(err, store.ErrNotFound) {
		return storeError(err)
	}
	// Records left over by an interrupted delete must not come back.
	left, _, err := s.st.List(ctx, authdns.RecordPrefix(z.Name))
	if err != nil {
		return storeError(err)
	}
	for _, kv := range left {
		if _, err := s.st.Delete(ctx, kv.Key); err != nil && !errors.Is(err, store.ErrNotFound) {
			return storeError(err)
		}
	}
	now := time.Now()
	z.Serial = authdns.NextSerial(0, now)
	z.CreateTime, z.UpdateTime = now.Unix(), now.Unix()
	raw, err := json.Marshal(z)
	if err != nil {
		return err
	}
	if _, err := s.st.Put(ctx, authdns.ZoneKey(z.Name), raw, store.IfModRevision(0)); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return errMsg(http.StatusConflict, "zone %s already exists", z.Name)
		}
		return storeError(err)
	}
	s.writeJSON(w, http.StatusCreated, newZoneView(z, 0))
	return nil
}

func (s *Server) dnsGetZone(ctx context.Context, w http.ResponseWriter, name string) error {
	z, _, err := s.dnsLoadZone(ctx, name)
	if err != nil {
		return err
	}
	recs, _, err := s.st.List(ctx, authdns.RecordPrefix(name))
	if err != nil {
		return storeError(err)
	}
	s.writeJSON(w, http.StatusOK, newZoneView(z, len(recs)))
	return nil
}

func (s *Server) dnsPatchZone(ctx context.Context, w http.ResponseWriter, r *http.Request, name string) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	patch, err := decodeObject(body)
	if err != nil {
		return err
	}
	// Check the patch's own fields before touching anything.
	if _, err := zoneFromMap(patch); err != nil {
		return err
	}
	unlock := lockZone(name)
	defer unlock()
	z, err := s.dnsBump(ctx, name, func(z *authdns.Zone) (bool, error) {
		cur := z.Serial
		raw, err := json.Marshal(z)
		if err != nil {
			return false, err
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			return false, err
		}
		m = numbersExact(m)
		m = mergePatch(m, schema.DeepCopy(patch).(map[string]any))
		nz, err := zoneFromMap(m)
		if err != nil {
			return false, err
		}
		if dnsZoneParam(nz.Name) != z.Name {
			return false, badRequest("invalid configuration: zone %q does not match the path's zone %s (a zone cannot be renamed)", nz.Name, z.Name)
		}
		if err := nz.Normalize(); err != nil {
			return false, badRequest("invalid zone: %v", err)
		}
		nz.CreateTime = z.CreateTime
		explicit := false
		if v, ok := patch["serial"]; ok && v != nil {
			if !authdns.SerialGreater(nz.Serial, cur) {
				return false, badRequest("invalid configuration: serial %d is not greater than the current serial %d (RFC 1982)", nz.Serial, cur)
			}
			explicit = true
		}
		*z = nz
		return explicit, nil
	})
	if err != nil {
		return err
	}
	recs, _, err := s.st.List(ctx, authdns.RecordPrefix(name))
	if err != nil {
		return storeError(err)
	}
	s.writeJSON(w, http.StatusOK, newZoneView(z, len(recs)))
	return nil
}

func (s *Server) dnsDeleteZone(ctx context.Context, w http.ResponseWriter, name string) error {
	unlock := lockZone(name)
	defer unlock()
	_, kv, err := s.dnsLoadZone(ctx, name)
	if err != nil {
		return err
	}
	if _, err := s.st.Delete(ctx, kv.Key, store.IfModRevision(kv.ModRevision)); err != nil {
		return storeError(err)
	}
	recs, _, err := s.st.List(ctx, authdns.RecordPrefix(name))
	if err != nil {
		return storeError(err)
	}
	for _, r := range recs {
		if _, err := s.st.Delete(ctx, r.Key); err != nil && !errors.Is(err, store.ErrNotFound) {
			return storeError(err)
		}
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"deleted": "1", "key": kv.Key, "records": len(recs)})
	return nil
}

func (s *Server) dnsExport(ctx context.Context, w http.ResponseWriter, name string) error {
	z, _, err := s.dnsLoadZone(ctx, name)
	if err != nil {
		return err
	}
	recs, err := s.dnsLoadRecords(ctx, name)
	if err != nil {
		return err
	}
	text := authdns.ExportZone(&z, plainRecords(recs))
	w.Header().Set("Content-Type", "text/dns")
	w.Header().Set("Content-Disposition", `attachment; filename="`+z.Name+`.zone"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(text)
	return nil
}
