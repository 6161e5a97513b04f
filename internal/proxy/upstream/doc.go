// Package upstream turns an APISIX upstream object into something the proxy
// can ask "which node next?", and keeps the state that must outlive config
// swaps: node health, in-flight counts, ewma scores, connection pools and
// active health checkers.
//
// # Why it is split this way
//
// A snapshot (DESIGN.md §4) is immutable and replaced wholesale, but health
// and pools must not be reset by an unrelated config change, and a checker
// goroutine must not be started per snapshot. So the Manager keeps one
// entry per stable key ("upstreams/<id>", or "routes/<id>" for an inline
// upstream) holding that state, and Compile returns an immutable *Upstream
// that points into it. State is shared per node address: a node that stays
// in the config keeps its health and scores when others are added or
// removed. Health is reset only when the checks configuration itself
// changes. After each swap the snapshot builder calls Retain with the keys
// still in use; it stops the other checkers and closes their idle
// connections. Close stops everything; every goroutine is bound to the
// Manager's context and waited for.
//
// The request path (Pick and Done) does not allocate, for any balancer:
// Done functions are built once per node at compile time, balancers work
// on index slices, and chash hashes with FNV-1a fed piece by piece (so a
// vars_combinations key is hashed without being built). chash rings are
// immutable and reused across compiles while the nodes are unchanged.
//
// # Semantics (APISIX 3.x, and where Stargate differs)
//
// Defaults: type roundrobin, scheme http, pass_host pass, hash_on vars,
// timeout connect/send/read 60 s (nginx proxy_*_timeout), keepalive_pool
// size 320 / idle_timeout 60 s / requests 1000. Retries: when `retries`
// is absent it is len(nodes)-1 (balancer.lua set_balancer_opts: "retries
// = #up_conf.nodes - 1"), which is what the docs call "the number of
// nodes": every node gets one attempt. retry_timeout 0 means no limit.
// Ports default to 80 (http, grpc) or 443 (https, grpcs); other schemes
// need an explicit port. Map-form nodes are sorted by address so that
// balancing does not depend on map order. service_name/discovery_type is
// refused with ErrDiscoveryUnsupported.
//
// Picking (balancer.lua fetch_health_nodes, priority.lua): nodes that are
// unhealthy are skipped unless every node of positive weight is unhealthy,
// in which case all are used. Nodes are grouped by priority, highest first;
// a lower group is used only when no node of the higher ones is eligible
// (all tried or unhealthy). Nodes passed in `tried` are skipped; when
// nothing is left Pick returns ErrAllTried. An upstream with one node
// always returns it, even when tried or unhealthy (pick_server's
// nodes_count == 1 shortcut), so retries go back to that node.
//
// Weight 0: never picked, for every balancer. If all nodes have weight 0
// they are all used with equal weight (lua-resty-balancer roundrobin with a
// zero gcd degrades to plain round robin).
//
// roundrobin is nginx's smooth weighted round robin (exact: weights 1:2:3
// over 6000 picks give 1000/2000/3000). chash is a ketama ring per priority
// group, 160 virtual points per node on average, scaled by weight; the key
// comes from hash_on/key and falls back to remote_addr when empty
// (chash.lua). On retries and for unhealthy nodes the ring is walked
// forward from the key's point, which matches picker:next() and moves only
// the keys of the node that is out. least_conn picks the lowest
// (active+1)/weight (least_conn.lua), rotating ties. ewma is
// power-of-two-choices on a latency EWMA with ewma.lua's time-based decay
// (10 s); Stargate adds Finagle's "peak" (a slower sample replaces the
// average at once) and multiplies by in-flight+1, and a failed attempt
// (Err or Timeout) is recorded as at least 1 s, so a failing node is
// avoided for tens of seconds; ewma.lua records nothing for failures that
// lead to a retry.
//
// Health checks follow lua-resty-healthcheck: per node, a success counter
// and http/tcp/timeout failure counters. A success clears the failure
// counters, a failure clears the success counter; reaching the threshold
// flips the node (healthy.successes, unhealthy.http_failures /
// tcp_failures / timeouts); a first contrary report makes it "mostly"
// healthy/unhealthy, which keeps its up/down status; reports that agree
// with a fully healthy or unhealthy node are not counted; a threshold of 0
// disables that counter. Active checks (type http, https, tcp) open a new
// connection per probe, probe up nodes every healthy.interval and down
// nodes every unhealthy.interval (fractions of a second are accepted,
// though the schema asks for whole seconds), with `concurrency` probes at
// a time and `timeout` each; an HTTP status in neither list is ignored,
// redirects are not followed. Passive checks read Done's Result: Timeout →
// timeouts, Err without a status → tcp_failures, a status → success or
// http_failures per the passive lists. Unlike APISIX, which reports only
// on retries and in the log phase, every attempt counts; a client that
// went away (context.Canceled) counts for nothing.
//
// APISIX's schema requires checks.active whenever checks is set, so a node
// ejected passively is always brought back by active probes. If Compile
// is given passive checks alone (the schema was bypassed), a node ejected
// by them returns after a cool-down (WithPassiveCoolDown, default 10 s,
// nginx's fail_timeout) instead of staying out forever as it would with
// lua-resty-healthcheck. Unlike APISIX, the checker also runs for
// single-node upstreams, so Status reports their health.
//
// Connection pools: Transport returns an *http.Transport per key, shared
// across compiles while its settings (scheme, connect timeout, keepalive
// pool, tls.verify, SNI, client certificate) are unchanged.
// keepalive_pool.size is MaxIdleConnsPerHost, idle_timeout is
// IdleConnTimeout; keepalive_pool.requests cannot be enforced by
// net/http and is only recorded. Dials use Timeout.Connect, or a per-request
// value set with WithConnectTimeout (a route's timeout overrides its
// upstream's). https/grpcs skip certificate verification unless
// tls.verify is true, as APISIX; the client certificate comes from
// tls.client_cert/client_key (an encrypted key needs WithKeyDecrypter) or
// tls.client_cert_id (WithClientCert). SNI is upstream_host with pass_host
// rewrite and the node's host otherwise; with pass_host pass APISIX uses
// the client's Host, for which the proxy calls TransportFor(host), which
// keeps one pool per SNI as APISIX keys its pools by SNI. http and https
// speak HTTP/1.1, grpc h2c and grpcs h2; compression is never added.
package upstream
