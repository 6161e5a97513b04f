package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/stargate-edge/stargate/internal/http1/evloop"
	"github.com/stargate-edge/stargate/internal/http1/server"
	"github.com/stargate-edge/stargate/internal/snapshot"
)

// Options configures the proxy listeners.
type Options struct {
	HTTPAddr  string // "" = no plain listener
	HTTPSAddr string // "" = no TLS listener
	Snapshots *snapshot.Loader
	Logger    *slog.Logger
	// Limits and timeouts a public edge needs (slowloris, huge headers).
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int
	// EventLoops is the number of event loops serving the plain HTTP
	// listener (package evloop): 0 = one per CPU (GOMAXPROCS as the
	// process started), < 0 = none, a goroutine per connection as on the
	// TLS listener.
	EventLoops int
}

// Servers are the running proxy listeners.
type Servers struct {
	httpSrv         *server.Server
	httpsSrv        *server.Server
	httpLn, httpsLn net.Listener
	loops           *evloop.Group
}

// Start binds the listeners and serves in the background. Binding errors
// are returned; the bound addresses are logged (":0" picks free ports).
func Start(opts Options) (*Servers, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.ReadHeaderTimeout <= 0 {
		opts.ReadHeaderTimeout = 10 * time.Second
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 60 * time.Second
	}
	if opts.MaxHeaderBytes <= 0 {
		opts.MaxHeaderBytes = 64 << 10
	}
	s := &Servers{}
	if opts.HTTPAddr != "" {
		ln, err := net.Listen("tcp", opts.HTTPAddr)
		if err != nil {
			return nil, fmt.Errorf("proxy: http listener: %w", err)
		}
		s.httpLn = ln
		// The plain port is the hot path: the specialised HTTP/1.1 server
		// (h2c by prior knowledge included); TLS stays on net/http.
		s.httpSrv = &server.Server{
			Handler:           NewHandler(opts.Snapshots, log, false),
			H2C:               true,
			ReadHeaderTimeout: opts.ReadHeaderTimeout,
			IdleTimeout:       opts.IdleTimeout,
			MaxHeaderBytes:    opts.MaxHeaderBytes,
			Logger:            log,
		}
		if opts.EventLoops >= 0 && evloop.Supported {
			g, err := evloop.NewGroup(opts.EventLoops, log)
			if err != nil {
				log.Warn("proxy: no event loops, a goroutine per connection", "err", err)
			} else {
				s.loops = g
				s.httpSrv.Loops = g
			}
		}
		go s.httpSrv.Serve(ln)
		log.Info("proxy listening", "proto", "http", "addr", ln.Addr().String())
	}
	if opts.HTTPSAddr != "" {
		ln, err := net.Listen("tcp", opts.HTTPSAddr)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("proxy: https listener: %w", err)
		}
		tlsConf := &tls.Config{
			MinVersion: tls.VersionTLS12,
			NextProtos: []string{"h2", "http/1.1"},
			GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
				if c := opts.Snapshots.Current().Certs.Lookup(hello.ServerName); c != nil {
					return c, nil
				}
				return nil, errors.New("no certificate for this server name")
			},
		}
		s.httpsLn = ln
		// The same HTTP/1.1 server behind TLS (HTTP/2 by ALPN goes to
		// x/net/http2), so both ports parse and defend alike.
		s.httpsSrv = &server.Server{
			Handler:           NewHandler(opts.Snapshots, log, true),
			TLSConfig:         tlsConf,
			ReadHeaderTimeout: opts.ReadHeaderTimeout,
			IdleTimeout:       opts.IdleTimeout,
			MaxHeaderBytes:    opts.MaxHeaderBytes,
			Logger:            log,
		}
		go s.httpsSrv.Serve(ln)
		log.Info("proxy listening", "proto", "https", "addr", ln.Addr().String())
	}
	return s, nil
}

// Conns counts the connections of both listeners by state (see
// server.Server.Conns).
func (s *Servers) Conns() server.ConnCounts {
	var n server.ConnCounts
	for _, srv := range []*server.Server{s.httpSrv, s.httpsSrv} {
		if srv != nil {
			n = n.Add(srv.Conns())
		}
	}
	return n
}

// HTTPAddr is the bound plain address ("" when not listening).
func (s *Servers) HTTPAddr() string {
	if s.httpLn == nil {
		return ""
	}
	return s.httpLn.Addr().String()
}

// HTTPSAddr is the bound TLS address.
func (s *Servers) HTTPSAddr() string {
	if s.httpsLn == nil {
		return ""
	}
	return s.httpsLn.Addr().String()
}

// Shutdown stops accepting and waits for in-flight requests until ctx ends.
func (s *Servers) Shutdown(ctx context.Context) error {
	var errs []error
	if s.httpSrv != nil {
		errs = append(errs, s.httpSrv.Shutdown(ctx))
	}
	if s.httpsSrv != nil {
		errs = append(errs, s.httpsSrv.Shutdown(ctx))
	}
	if s.loops != nil {
		s.loops.Close()
	}
	return errors.Join(errs...)
}

// Close stops the listeners at once.
func (s *Servers) Close() {
	if s.httpSrv != nil {
		s.httpSrv.Close()
	}
	if s.httpsSrv != nil {
		s.httpsSrv.Close()
	}
	for _, ln := range []net.Listener{s.httpLn, s.httpsLn} {
		if ln != nil {
			ln.Close()
		}
	}
	if s.loops != nil {
		s.loops.Close()
	}
}
