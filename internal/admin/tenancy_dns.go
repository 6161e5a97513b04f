package admin

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"

	"github.com/stargate-edge/stargate/internal/authdns"
	"github.com/stargate-edge/stargate/internal/tenant"
)

// DNS zones are owned like every other object. Until the DNS handlers call
// the tenancy hooks themselves (see tenancy.go), requests to /dns pass
// this guard, which applies them around the handlers:
//
//   - /dns/zones/{zone}/...: a zone the caller cannot see is 404 before the
//     handler runs; deleting it drops the owner record;
//   - POST /dns/zones: the zone name is checked as a hostname claim (403 on
//     an overlap with another organization), and the created zone is
//     recorded as the caller's organization's;
//   - GET /dns/zones: a scoped caller's answer is filtered to its zones.
//
// All of it is idempotent, so it stays correct once the handlers call
// canSee/recordOwner/dropOwner themselves; the guard can then shrink to
// the role check.

// scopeDNS checks the caller's role for a /dns request: viewer to read,
// editor to write.
func (s *Server) scopeDNS(r *http.Request, segs []string) error {
	p := principalOf(r.Context())
	if !p.scoped() {
		return nil
	}
	_, err := s.needOrg(r.Context(), writeRole(r.Method))
	return err
}

// captureWriter holds a handler's answer so it can be checked (and
// filtered) before it is sent.
type captureWriter struct {
	h      http.Header
	status int
	buf    bytes.Buffer
}

func newCapture() *captureWriter              { return &captureWriter{h: http.Header{}, status: http.StatusOK} }
func (c *captureWriter) Header() http.Header  { return c.h }
func (c *captureWriter) WriteHeader(code int) { c.status = code }
func (c *captureWriter) Write(b []byte) (int, error) {
	return c.buf.Write(b)
}

// flush sends the held answer, with body instead when it is non-nil.
func (c *captureWriter) flush(w http.ResponseWriter, body []byte) {
	for k, v := range c.h {
		w.Header()[k] = v
	}
	if body == nil {
		body = c.buf.Bytes()
	}
	w.WriteHeader(c.status)
	_, _ = w.Write(body)
}

func (s *Server) serveDNSOwned(w http.ResponseWriter, r *http.Request, segs []string) error {
	ctx := r.Context()
	if len(segs) == 0 || segs[0] != "zones" {
		return s.serveDNS(w, r, segs)
	}
	scoped := principalOf(ctx).scoped()
	if len(segs) == 1 {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			if !scoped {
				return s.serveDNS(w, r, segs)
			}
			cw := newCapture()
			if err := s.serveDNS(cw, r, segs); err != nil {
				return err
			}
			if cw.status != http.StatusOK {
				cw.flush(w, nil)
				return nil
			}
			body, err := s.filterZoneList(r, cw.buf.Bytes())
			if err != nil {
				return err
			}
			cw.h.Del("Content-Length")
			cw.flush(w, body)
			return nil
		case http.MethodPost:
			return s.createZoneOwned(w, r, segs)
		}
		return s.serveDNS(w, r, segs)
	}
	zone, err := authdns.CanonicalZoneName(segs[1])
	if err != nil || !s.canSee(ctx, authdns.ZoneKey(zone)) {
		return notFound()
	}
	if len(segs) == 2 && r.Method == http.MethodDelete {
		old, err := s.st.Get(ctx, authdns.ZoneKey(zone))
		if err != nil {
			return storeError(err)
		}
		cw := newCapture()
		if err := s.serveDNS(cw, r, segs); err != nil {
			return err
		}
		if cw.status == http.StatusOK {
			s.deleted(ctx, old)
		}
		cw.flush(w, nil)
		return nil
	}
	return s.serveDNS(w, r, segs)
}

// createZoneOwned checks the new zone's name as a hostname claim, lets
// the handler create it, then records its owner.
func (s *Server) createZoneOwned(w http.ResponseWriter, r *http.Request, segs []string) error {
	ctx := r.Context()
	body, err := readBody(r)
	if err != nil {
		return err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	defer s.lockHostClaims(ctx)()
	var peek struct {
		Zone string `json:"zone"`
	}
	if json.Unmarshal(body, &peek) == nil && peek.Zone != "" {
		if name, err := authdns.CanonicalZoneName(peek.Zone); err == nil {
			if err := s.checkClaims(ctx, authdns.ZoneKey(name), tenant.ZoneClaim(name)); err != nil {
				return err
			}
		}
	}
	cw := newCapture()
	if err := s.serveDNS(cw, r, segs); err != nil {
		return err
	}
	if cw.status == http.StatusCreated {
		var made struct {
			Zone string `json:"zone"`
		}
		if err := json.Unmarshal(cw.buf.Bytes(), &made); err != nil || made.Zone == "" {
			s.log.Error("admin: created zone answer has no zone name; owner not recorded", "body", cw.buf.String())
			return errMsg(http.StatusInternalServerError, "internal server error")
		}
		kv, err := s.st.Get(ctx, authdns.ZoneKey(made.Zone))
		if err != nil {
			return storeError(err)
		}
		if err := s.created(ctx, kv); err != nil {
			return err
		}
	}
	cw.flush(w, nil)
	return nil
}

// filterZoneList keeps the zones of a {"total","list":[{"zone":...}]}
// answer the caller can see. An answer of another shape fails closed.
func (s *Server) filterZoneList(r *http.Request, body []byte) ([]byte, error) {
	var in struct {
		List []json.RawMessage `json:"list"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		s.log.Error("admin: zone list answer is not a list; refusing to filter", "err", err)
		return nil, errMsg(http.StatusInternalServerError, "internal server error")
	}
	out := make([]json.RawMessage, 0, len(in.List))
	for _, item := range in.List {
		var z struct {
			Zone string `json:"zone"`
		}
		if json.Unmarshal(item, &z) != nil || z.Zone == "" {
			continue
		}
		if s.canSee(r.Context(), authdns.ZoneKey(z.Zone)) {
			out = append(out, item)
		}
	}
	b, err := json.Marshal(map[string]any{"total": len(out), "list": out})
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
