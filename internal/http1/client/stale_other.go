//go:build !unix

package client

import "net"

// inputPending cannot peek here; pooled connections are trusted.
func inputPending(net.Conn) bool { return false }
