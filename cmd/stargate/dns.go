package main

import (
	"context"
	"log/slog"

	"github.com/stargate-edge/stargate/internal/authdns"
	"github.com/stargate-edge/stargate/internal/config"
	"github.com/stargate-edge/stargate/internal/metrics"
	"github.com/stargate-edge/stargate/internal/store"
)

// startDNS starts the authoritative DNS server of the edge role on
// cfg.DNSListen; the returned func stops it.
func startDNS(ctx context.Context, cfg config.Config, st store.Store, log *slog.Logger, reg *metrics.Registry) (func(), error) {
	srv := authdns.New(authdns.Options{Store: st, Logger: log, Registerer: reg})
	if err := srv.Start(ctx, cfg.DNSListen); err != nil {
		return nil, err
	}
	log.Info("dns listening", "udp", srv.UDPAddr().String(), "tcp", srv.TCPAddr().String())
	return func() {
		srv.Stop()
		log.Info("dns stopped")
	}, nil
}
