// Package grpctranscode declares APISIX's grpc-transcode plugin: its name,
// priority (506), configuration schemas and the cross-field checks APISIX's
// check_schema makes. When enabled it transcodes between HTTP/JSON and gRPC
// using a stored proto (proto_id), calling service/method on a gRPC
// upstream.
//
// This package only registers the plugin so that its configuration is
// validated as APISIX validates it; the runtime behaviour arrives with the
// plugin's own issue.
//
// Schemas are ported field by field from apisix/plugins/grpc-transcode.lua
// (Apache APISIX 3.x).
package grpctranscode
