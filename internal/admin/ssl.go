package admin

import (
	"github.com/stargate-edge/stargate/internal/tlscert"
)

// sealSSL checks an ssl object's certificates and keys, fills snis from the
// certificate when none are given, records its validity, and encrypts the
// private keys so they never reach the store in the clear.
func (s *Server) sealSSL(v map[string]any) error {
	cert, _ := v["cert"].(string)
	key, _ := v["key"].(string)
	typ, _ := v["type"].(string)
	if typ == "" {
		typ = "server"
	}
	if cert == "" {
		return nil // the schema already demanded what it needs
	}
	if typ == "server" && key == "" {
		return badRequest("invalid configuration: property \"key\" is required")
	}
	info, err := tlscert.Parse(cert, key)
	if err != nil {
		return badRequest("%s", err.Error())
	}
	certs, _ := v["certs"].([]any)
	keys, _ := v["keys"].([]any)
	if len(certs) != len(keys) {
		return badRequest("mismatched number of certs and keys")
	}
	for i := range certs {
		c, _ := certs[i].(string)
		k, _ := keys[i].(string)
		if _, err := tlscert.Parse(c, k); err != nil {
			return badRequest("failed to handle cert-key pair[%d]: %s", i+1, err.Error())
		}
	}
	_ = info
	if key != "" {
		enc, err := s.ring.Encrypt(key)
		if err != nil {
			return err
		}
		v["key"] = enc
	}
	for i := range keys {
		k, _ := keys[i].(string)
		enc, err := s.ring.Encrypt(k)
		if err != nil {
			return err
		}
		keys[i] = enc
	}
	return nil
}

// defaultSNIs fills snis from a server certificate's names when the object
// names none, before the schema (which requires sni or snis) runs. A
// certificate that does not parse is reported here, since without names
// the schema's complaint would be about the missing snis instead.
func defaultSNIs(v map[string]any) error {
	_, hasSNI := v["sni"]
	_, hasSNIs := v["snis"]
	typ, _ := v["type"].(string)
	cert, _ := v["cert"].(string)
	if hasSNI || hasSNIs || (typ != "" && typ != "server") || cert == "" {
		return nil
	}
	info, err := tlscert.Parse(cert, "")
	if err != nil {
		return badRequest("%s", err.Error())
	}
	if len(info.Names) == 0 {
		return badRequest("invalid configuration: no sni given and the certificate names no host")
	}
	names := make([]any, len(info.Names))
	for i, n := range info.Names {
		names[i] = n
	}
	v["snis"] = names
	return nil
}

// decryptSSL restores the clear keys of a stored ssl (for PATCH, whose
// merged result is validated like a new object).
func (s *Server) decryptSSL(v map[string]any) error {
	if key, ok := v["key"].(string); ok {
		plain, err := s.ring.Decrypt(key)
		if err != nil {
			return err
		}
		v["key"] = plain
	}
	if keys, ok := v["keys"].([]any); ok {
		for i := range keys {
			k, _ := keys[i].(string)
			plain, err := s.ring.Decrypt(k)
			if err != nil {
				return err
			}
			keys[i] = plain
		}
	}
	return nil
}

// presentSSL strips key material and adds the certificate's validity and
// SHA-1 fingerprint (computed, never stored: APISIX 3's ssl schema has no
// such fields, and APISIX tooling reads the same store).
func presentSSL(m map[string]any) {
	delete(m, "key")
	delete(m, "keys")
	if cert, ok := m["cert"].(string); ok {
		if info, err := tlscert.Parse(cert, ""); err == nil {
			m["fingerprint"] = info.Fingerprint
			m["validity_start"] = info.ValidityStart
			m["validity_end"] = info.ValidityEnd
		}
	}
}
