package upstream

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/stargate-edge/stargate/internal/http1/client"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/stargate-edge/stargate/internal/tlscert"
)

type connectTimeoutKey struct{}

// WithConnectTimeout returns a context that makes the upstream transports
// dial with timeout d instead of the upstream's Timeout.Connect (a route's
// `timeout` overrides its upstream's, APISIX balancer.lua
// set_balancer_opts).
func WithConnectTimeout(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, connectTimeoutKey{}, d)
}

// transportSettings is everything a transport is built from; equal
// settings share one transport (and its pool) across compiles.
type transportSettings struct {
	scheme     string
	connect    time.Duration
	keepalive  KeepalivePool
	verify     bool
	serverName string
	certSum    string // sha256 of the client certificate chain, "" = none
}

func (s transportSettings) tlsScheme() bool { return s.scheme == "https" || s.scheme == "grpcs" }

func newTransport(s transportSettings, cert *tls.Certificate) *http.Transport {
	connect := s.connect
	dialer := &net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy: nil, // never an environment proxy
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if d, ok := ctx.Value(connectTimeoutKey{}).(time.Duration); ok && d > 0 {
				dl := *dialer
				dl.Timeout = d
				return dl.DialContext(ctx, network, addr)
			}
			return dialer.DialContext(ctx, network, addr)
		},
		MaxIdleConnsPerHost:   s.keepalive.Size,
		IdleConnTimeout:       s.keepalive.IdleTimeout,
		TLSHandshakeTimeout:   connect,
		ExpectContinueTimeout: time.Second,
		// A proxy passes Accept-Encoding and bodies through untouched.
		DisableCompression: true,
		// The lean HTTP/1.1 client's cap on an upstream's header block
		// (net/http's default is 10 MiB); beyond it the exchange fails.
		MaxResponseHeaderBytes: client.MaxHeaderBytes,
	}
	if s.keepalive.Size <= 0 {
		t.DisableKeepAlives = true
	}
	var p http.Protocols
	switch s.scheme {
	case "grpc":
		p.SetUnencryptedHTTP2(true)
	case "grpcs":
		p.SetHTTP2(true)
	default:
		p.SetHTTP1(true) // APISIX speaks HTTP/1.1 to http(s) upstreams
	}
	t.Protocols = &p
	if s.tlsScheme() {
		cfg := &tls.Config{
			InsecureSkipVerify: !s.verify, //nolint:gosec // APISIX tls.verify defaults to false
			ServerName:         s.serverName,
			MinVersion:         tls.VersionTLS12,
		}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{*cert}
		}
		t.TLSClientConfig = cfg
	}
	return t
}

// newH1Transport returns the lean client for plain-http settings, nil
// otherwise.
func newH1Transport(s transportSettings) *client.Transport {
	if s.scheme != "http" {
		return nil
	}
	return &client.Transport{
		ConnectTimeout: s.connect,
		MaxIdlePerHost: s.keepalive.Size,
		IdleTimeout:    s.keepalive.IdleTimeout,
	}
}

// loadClientCert resolves the upstream's client certificate: inline PEM
// (client_key possibly encrypted at rest) or client_cert_id through the
// Manager's resolver.
func (m *Manager) loadClientCert(c *config) (*tls.Certificate, string, error) {
	var cert *tls.Certificate
	switch {
	case c.certPEM != "":
		key := c.keyPEM
		if tlscert.IsEncrypted(key) {
			if m.opts.decryptKey == nil {
				return nil, "", errors.New("upstream: tls.client_key is encrypted and no key decrypter is configured")
			}
			var err error
			if key, err = m.opts.decryptKey(key); err != nil {
				return nil, "", fmt.Errorf("upstream: tls.client_key: %w", err)
			}
		}
		kp, err := tls.X509KeyPair([]byte(c.certPEM), []byte(key))
		if err != nil {
			return nil, "", fmt.Errorf("upstream: tls.client_cert: %w", err)
		}
		cert = &kp
	case c.certID != "":
		if m.opts.clientCert == nil {
			return nil, "", fmt.Errorf("upstream: tls.client_cert_id %q: no certificate resolver configured", c.certID)
		}
		kp, err := m.opts.clientCert(c.certID)
		if err != nil {
			return nil, "", fmt.Errorf("upstream: tls.client_cert_id %q: %w", c.certID, err)
		}
		if kp == nil || len(kp.Certificate) == 0 {
			return nil, "", fmt.Errorf("upstream: tls.client_cert_id %q: empty certificate", c.certID)
		}
		cert = kp
	default:
		return nil, "", nil
	}
	h := sha256.New()
	for _, der := range cert.Certificate {
		h.Write(der)
	}
	return cert, hex.EncodeToString(h.Sum(nil)), nil
}

// maxSNITransports bounds TransportFor's per-SNI pools per upstream key.
const maxSNITransports = 128

// TransportFor returns a pooled transport that presents serverName as SNI.
// With pass_host "pass" APISIX sends the client's Host as SNI and keys its
// pool by it; the proxy calls TransportFor(host) for https/grpcs upstreams
// in that mode. For other schemes, or an empty or default serverName, it
// is Transport(). Pools are kept per upstream key (at most 128 names; the
// oldest is dropped beyond that) and shared across compiles.
func (u *Upstream) TransportFor(serverName string) *http.Transport {
	if u.entry == nil || !u.tset.tlsScheme() || serverName == "" ||
		strings.EqualFold(serverName, u.tset.serverName) {
		return u.transport
	}
	return u.entry.sniTransport(u.transport, serverName)
}

// sniTransport returns (building when needed) the transport for name,
// derived from base.
func (e *entry) sniTransport(base *http.Transport, name string) *http.Transport {
	name = strings.ToLower(name)
	e.sniMu.Lock()
	defer e.sniMu.Unlock()
	if e.sniBase != base {
		// settings changed since these pools were made
		for _, t := range e.sni {
			t.CloseIdleConnections()
		}
		e.sni, e.sniOrder, e.sniBase = nil, nil, base
	}
	if t, ok := e.sni[name]; ok {
		return t
	}
	if e.sni == nil {
		e.sni = make(map[string]*http.Transport)
	}
	if len(e.sniOrder) >= maxSNITransports {
		old := e.sniOrder[0]
		e.sniOrder = e.sniOrder[1:]
		if t := e.sni[old]; t != nil {
			t.CloseIdleConnections()
		}
		delete(e.sni, old)
	}
	t := base.Clone()
	t.TLSClientConfig.ServerName = name
	e.sni[name] = t
	e.sniOrder = append(e.sniOrder, name)
	return t
}

func (e *entry) closeTransports() {
	if e.transport != nil {
		e.transport.CloseIdleConnections()
	}
	if e.h1 != nil {
		e.h1.CloseIdleConnections()
	}
	e.sniMu.Lock()
	for _, t := range e.sni {
		t.CloseIdleConnections()
	}
	e.sni, e.sniOrder, e.sniBase = nil, nil, nil
	e.sniMu.Unlock()
}
