package admin

// addDNSPaths describes the DNS API (dns*.go) in the OpenAPI document.
func addDNSPaths(paths, schemas, errs obj) {
	with := func(extra obj) obj {
		out := obj{}
		for k, v := range errs {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	name := func(desc string) obj { return obj{"type": "string", "description": desc} }
	u32 := obj{"type": "integer", "minimum": 1, "maximum": 2147483647}
	strs := obj{"type": "array", "items": obj{"type": "string"}}
	soa := obj{"type": "object", "additionalProperties": false, "properties": obj{
		"mname": name("primary nameserver (default: the first nameserver)"), "rname": name("hostmaster mailbox, hostmaster.example.com. or hostmaster@example.com"),
		"refresh": u32, "retry": u32, "expire": u32, "minimum": u32}}
	schemas["DNSZoneInput"] = obj{"type": "object", "additionalProperties": true, "properties": obj{
		"zone": name("RFC 1035 name, forward or reverse; public suffixes are refused"), "ttl": u32, "soa": soa,
		"nameservers":    obj{"type": "array", "items": obj{"type": "string"}, "description": "apex NS (default ns1.<zone>., ns2.<zone>.)"},
		"secondaries":    obj{"type": "array", "items": obj{"type": "string"}, "description": "ip or ip:port that get NOTIFY and may AXFR"},
		"allow_transfer": obj{"type": "array", "items": obj{"type": "string"}, "description": "more addresses or prefixes that may AXFR"},
		"serial":         obj{"type": "integer", "description": "PATCH only; must be greater than the current serial"}}}
	schemas["DNSZone"] = obj{"type": "object", "properties": obj{
		"zone": obj{"type": "string"}, "serial": obj{"type": "integer"}, "ttl": obj{"type": "integer"}, "soa": soa,
		"nameservers": strs, "secondaries": strs, "allow_transfer": strs, "record_count": obj{"type": "integer"},
		"reverse": obj{"type": "boolean"}, "create_time": obj{"type": "integer"}, "update_time": obj{"type": "integer"}}}
	schemas["DNSZoneList"] = obj{"type": "object", "properties": obj{"total": obj{"type": "integer"}, "list": obj{"type": "array", "items": ref("DNSZone")}}}
	recProps := func() obj {
		return obj{
			"label": name("relative to the zone (@ apex, * wildcard) or a fully qualified name inside it"),
			"type":  obj{"type": "string", "enum": []string{"A", "AAAA", "CNAME", "MX", "TXT", "SRV", "NS", "CAA", "PTR"}},
			"ttl":   u32, "value": obj{"type": "string"},
			"priority": obj{"type": "integer", "minimum": 0, "maximum": 65535}, "weight": obj{"type": "integer", "minimum": 0, "maximum": 65535},
			"port": obj{"type": "integer", "minimum": 0, "maximum": 65535}, "flags": obj{"type": "integer", "minimum": 0, "maximum": 255},
			"tag": obj{"type": "string"}}
	}
	in := recProps()
	schemas["DNSRecordInput"] = obj{"type": "object", "required": []string{"label", "type", "value"}, "properties": in}
	out := recProps()
	out["id"], out["index"], out["name"] = obj{"type": "string"}, obj{"type": "integer"}, obj{"type": "string"}
	out["create_time"], out["update_time"] = obj{"type": "integer"}, obj{"type": "integer"}
	schemas["DNSRecord"] = obj{"type": "object", "properties": out}
	schemas["DNSRecordList"] = obj{"type": "object", "properties": obj{"total": obj{"type": "integer"}, "list": obj{"type": "array", "items": ref("DNSRecord")}}}
	schemas["DNSImportResult"] = obj{"type": "object", "properties": obj{
		"mode": obj{"type": "string"}, "added": obj{"type": "integer"}, "updated": obj{"type": "integer"}, "removed": obj{"type": "integer"},
		"unchanged": obj{"type": "integer"}, "serial": obj{"type": "integer"}, "nameservers": strs}}

	tags := []string{"dns"}
	missing := resp("no such zone or record", ref("NotFound"))
	zoneP := obj{"name": "zone", "in": "path", "required": true, "schema": obj{"type": "string"}}
	idP := obj{"name": "id", "in": "path", "required": true, "schema": obj{"type": "string"}}
	paths["/dns/zones"] = obj{
		"get": obj{"summary": "List DNS zones", "tags": tags, "responses": with(obj{"200": resp("the zones", ref("DNSZoneList"))})},
		"post": obj{"summary": "Create a DNS zone", "tags": tags, "requestBody": jsonBody(ref("DNSZoneInput")),
			"responses": with(obj{"201": resp("created", ref("DNSZone")), "409": resp("the zone exists", ref("Error"))})},
	}
	paths["/dns/zones/{zone}"] = obj{"parameters": []obj{zoneP},
		"get":    obj{"summary": "Get a DNS zone", "tags": tags, "responses": with(obj{"200": resp("the zone", ref("DNSZone")), "404": missing})},
		"patch":  obj{"summary": "Change a zone's SOA fields, TTL, nameservers, secondaries or transfer ACL (bumps the serial)", "tags": tags, "requestBody": jsonBody(ref("DNSZoneInput")), "responses": with(obj{"200": resp("the zone", ref("DNSZone")), "404": missing})},
		"delete": obj{"summary": "Delete a zone and its records", "tags": tags, "responses": with(obj{"200": resp("deleted", ref("Deleted")), "404": missing})},
	}
	paths["/dns/zones/{zone}/export"] = obj{"parameters": []obj{zoneP},
		"get": obj{"summary": "The zone as an RFC 1035 zone file", "tags": tags, "responses": with(obj{
			"200": obj{"description": "zone file", "content": obj{"text/dns": obj{"schema": obj{"type": "string"}}}}, "404": missing})}}
	paths["/dns/zones/{zone}/import"] = obj{"parameters": []obj{zoneP},
		"post": obj{"summary": "Import an RFC 1035 zone file (merge or replace); errors carry their line", "tags": tags,
			"parameters":  []obj{{"name": "mode", "in": "query", "schema": obj{"type": "string", "enum": []string{"merge", "replace"}}}},
			"requestBody": obj{"content": obj{"text/dns": obj{"schema": obj{"type": "string"}}}},
			"responses":   with(obj{"200": resp("counts", ref("DNSImportResult")), "404": missing})}}
	paths["/dns/zones/{zone}/records"] = obj{"parameters": []obj{zoneP},
		"get":  obj{"summary": "List a zone's records (each with id and index)", "tags": tags, "responses": with(obj{"200": resp("the records", ref("DNSRecordList")), "404": missing})},
		"post": obj{"summary": "Add a record (validated by building its RR; bumps the serial)", "tags": tags, "requestBody": jsonBody(ref("DNSRecordInput")), "responses": with(obj{"201": resp("created", ref("DNSRecord")), "404": missing})},
		"delete": obj{"summary": "Delete the record at a list index (PacketFrame style)", "tags": tags,
			"parameters": []obj{{"name": "index", "in": "query", "required": true, "schema": obj{"type": "integer", "minimum": 0}}},
			"responses":  with(obj{"200": resp("deleted", ref("Deleted")), "404": missing})},
	}
	paths["/dns/zones/{zone}/records/{id}"] = obj{"parameters": []obj{zoneP, idP},
		"get":    obj{"summary": "Get a record", "tags": tags, "responses": with(obj{"200": resp("the record", ref("DNSRecord")), "404": missing})},
		"put":    obj{"summary": "Replace a record", "tags": tags, "requestBody": jsonBody(ref("DNSRecordInput")), "responses": with(obj{"200": resp("replaced", ref("DNSRecord")), "404": missing})},
		"patch":  obj{"summary": "Merge into a record", "tags": tags, "requestBody": jsonBody(obj{"type": "object"}), "responses": with(obj{"200": resp("patched", ref("DNSRecord")), "404": missing})},
		"delete": obj{"summary": "Delete a record", "tags": tags, "responses": with(obj{"200": resp("deleted", ref("Deleted")), "404": missing})},
	}
}
