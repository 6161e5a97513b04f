// Package confcheck holds the small helpers that plugin Check functions
// share: reading values out of a decoded configuration (numbers arrive as
// json.Number), validating IP addresses the way APISIX's core.ip does,
// validating header names and values as core.utils does, and compiling
// regular expressions with errors worded like OpenResty's. It registers
// nothing and is not part of the standard set.
package confcheck
