package admin

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/stargate-edge/stargate/internal/authdns"
	"github.com/stargate-edge/stargate/internal/store"
)

// dnsImport reads an RFC 1035 zone file into the zone.
//
//   - mode=merge (default): the file's records are added to the zone;
//     records already there (same name, type and data) are kept, with the
//     file's TTL.
//   - mode=replace: afterwards the zone holds exactly the file's records.
//
// The apex SOA of the file, if any, sets the zone's SOA fields and TTL,
// and its serial is used when it is ahead of the zone's next serial; apex
// NS records set the nameservers (replace) or join them (merge). Nothing
// is written unless the whole file is valid; the first error is a 400
// with its line: {"error_msg":"line 7: ...","line":7}.
func (s *Server) dnsImport(ctx context.Context, w http.ResponseWriter, r *http.Request, name string) error {
	mode := r.URL.Query().Get("mode")
	if mode == "" {
		mode = "merge"
	}
	if mode != "merge" && mode != "replace" {
		return badRequest("invalid mode %q: merge or replace", mode)
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	unlock := lockZone(name)
	defer unlock()
	z, _, err := s.dnsLoadZone(ctx, name)
	if err != nil {
		return err
	}
	zf, err := authdns.ParseZoneFile(&z, body)
	if err != nil {
		var zfe *authdns.ZoneFileError
		if errors.As(err, &zfe) {
			b := map[string]any{"error_msg": "invalid zone file: " + zfe.Error()}
			if zfe.Line > 0 {
				b["line"] = zfe.Line
			}
			return &apiError{status: http.StatusBadRequest, body: b}
		}
		return badRequest("invalid zone file: %v", err)
	}
	recs, err := s.dnsLoadRecords(ctx, name)
	if err != nil {
		return err
	}
	existing := map[string]int{} // identity → index in recs
	for i := range recs {
		if id, err := recs[i].Identity(&z); err == nil {
			existing[id] = i
		}
	}
	var adds []authdns.Record
	var updates []storedRecord
	keep := map[int]bool{}
	unchanged := 0
	// Merge: every new record must keep the CNAME rule with the zone's
	// records. Among the file's own records the parser checked it, and
	// duplicates of existing records are found by identity below.
	names := authdns.Names{}
	if mode == "merge" {
		for i := range recs {
			names.Add(&recs[i].Record)
		}
	}
	for i := range zf.Records {
		rec := zf.Records[i]
		id, _ := rec.Identity(&z)
		if j, ok := existing[id]; ok {
			keep[j] = true
			if recs[j].TTL != rec.TTL {
				u := recs[j]
				u.TTL = rec.TTL
				updates = append(updates, u)
			} else {
				unchanged++
			}
			continue
		}
		if mode == "merge" {
			if err := names.CNAMEConflict(&z, &rec); err != nil {
				return &apiError{status: http.StatusBadRequest, body: map[string]any{
					"error_msg": "invalid zone file: " + (&authdns.ZoneFileError{Line: zf.Lines[i], Err: err}).Error(), "line": zf.Lines[i]}}
			}
		}
		adds = append(adds, rec)
	}
	var removes []storedRecord
	if mode == "replace" {
		for i := range recs {
			if !keep[i] {
				removes = append(removes, recs[i])
			}
		}
	}
	// The file's SOA and NS must make a valid zone before anything is written.
	check := z
	check.Nameservers = append([]string(nil), z.Nameservers...)
	if err := applyZoneFile(&check, zf, mode); err != nil {
		return err
	}
	// Write: removals, updates, additions, then one serial bump.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(importWriters)
	now := time.Now().Unix()
	for _, rm := range removes {
		g.Go(func() error {
			_, err := s.st.Delete(gctx, rm.kv.Key)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return storeError(err)
			}
			return nil
		})
	}
	for _, u := range updates {
		g.Go(func() error {
			u.UpdateTime = now
			return s.dnsPutRecord(gctx, name, u.Record, u.kv.ModRevision)
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	// Ids: one durable counter write each, taken concurrently (the store
	// commits concurrent writes together; one after another, a 50,000-line
	// file spent most of its time here) and handed out in file order, so
	// the list keeps the file's order.
	ids := make([]string, len(adds))
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(importWriters)
	for i := range ids {
		g.Go(func() error {
			id, err := s.dnsNewID(gctx)
			ids[i] = id
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	slices.Sort(ids) // zero-padded revisions: string order is numeric order
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(importWriters)
	for i := range adds {
		adds[i].ID, adds[i].CreateTime, adds[i].UpdateTime = ids[i], now, now
		rec := adds[i]
		g.Go(func() error { return s.dnsPutRecord(gctx, name, rec, 0) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	nz, err := s.dnsBump(ctx, name, func(cur *authdns.Zone) (bool, error) {
		if err := applyZoneFile(cur, zf, mode); err != nil {
			return false, err
		}
		next := authdns.NextSerial(cur.Serial, time.Now())
		if zf.SOA != nil && authdns.SerialGreater(zf.Serial, next) {
			cur.Serial = zf.Serial
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return err
	}
	s.writeJSON(w, http.StatusOK, map[string]any{
		"mode": mode, "added": len(adds), "updated": len(updates), "removed": len(removes),
		"unchanged": unchanged, "serial": nz.Serial, "nameservers": nz.Nameservers,
	})
	return nil
}

// importWriters bounds an import's concurrent store writes: enough for the
// store to commit many in one transaction (bolt) or one round trip's worth
// (etcd), few enough not to starve other admin requests.
const importWriters = 64

// applyZoneFile sets a zone's SOA fields, TTL and nameservers from a file.
func applyZoneFile(cur *authdns.Zone, zf *authdns.ZoneFile, mode string) error {
	if zf.SOA != nil {
		cur.SOA = *zf.SOA
		if zf.TTL > 0 {
			cur.TTL = zf.TTL
		}
	}
	if len(zf.Nameservers) > 0 {
		if mode == "replace" {
			cur.Nameservers = append([]string(nil), zf.Nameservers...)
		} else {
			for _, ns := range zf.Nameservers {
				dup := false
				for _, have := range cur.Nameservers {
					dup = dup || strings.EqualFold(have, ns)
				}
				if !dup {
					cur.Nameservers = append(cur.Nameservers, ns)
				}
			}
		}
	}
	if err := cur.Normalize(); err != nil {
		return badRequest("invalid zone file: the SOA or NS records make an invalid zone: %v", err)
	}
	return nil
}
