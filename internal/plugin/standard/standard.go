// Package standard links in Stargate's standard plugin set. Import it for
// its side effect: every plugin package registers itself from init().
// Execution order comes from each plugin's Priority, never from the order
// of these imports.
package standard

import (
	_ "github.com/stargate-edge/stargate/internal/plugin/apibreaker"
	_ "github.com/stargate-edge/stargate/internal/plugin/basicauth"
	_ "github.com/stargate-edge/stargate/internal/plugin/brotli"
	_ "github.com/stargate-edge/stargate/internal/plugin/clientcontrol"
	_ "github.com/stargate-edge/stargate/internal/plugin/consumerrestriction"
	_ "github.com/stargate-edge/stargate/internal/plugin/cors"
	_ "github.com/stargate-edge/stargate/internal/plugin/echo"
	_ "github.com/stargate-edge/stargate/internal/plugin/faultinjection"
	_ "github.com/stargate-edge/stargate/internal/plugin/forwardauth"
	_ "github.com/stargate-edge/stargate/internal/plugin/gzip"
	_ "github.com/stargate-edge/stargate/internal/plugin/hmacauth"
	_ "github.com/stargate-edge/stargate/internal/plugin/httplogger"
	_ "github.com/stargate-edge/stargate/internal/plugin/iprestriction"
	_ "github.com/stargate-edge/stargate/internal/plugin/jwtauth"
	_ "github.com/stargate-edge/stargate/internal/plugin/keyauth"
	_ "github.com/stargate-edge/stargate/internal/plugin/limitconn"
	_ "github.com/stargate-edge/stargate/internal/plugin/limitcount"
	_ "github.com/stargate-edge/stargate/internal/plugin/limitreq"
	_ "github.com/stargate-edge/stargate/internal/plugin/mocking"
	_ "github.com/stargate-edge/stargate/internal/plugin/prometheus"
	_ "github.com/stargate-edge/stargate/internal/plugin/proxycache"
	_ "github.com/stargate-edge/stargate/internal/plugin/proxymirror"
	_ "github.com/stargate-edge/stargate/internal/plugin/proxyrewrite"
	_ "github.com/stargate-edge/stargate/internal/plugin/realip"
	_ "github.com/stargate-edge/stargate/internal/plugin/redirect"
	_ "github.com/stargate-edge/stargate/internal/plugin/refererrestriction"
	_ "github.com/stargate-edge/stargate/internal/plugin/requestid"
	_ "github.com/stargate-edge/stargate/internal/plugin/requestvalidation"
	_ "github.com/stargate-edge/stargate/internal/plugin/responserewrite"
	_ "github.com/stargate-edge/stargate/internal/plugin/trafficsplit"
	_ "github.com/stargate-edge/stargate/internal/plugin/uarestriction"
	_ "github.com/stargate-edge/stargate/internal/plugin/uriblocker"
)
