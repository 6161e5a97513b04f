//go:build !linux

package authdns

import "net"

func setPktInfo(*net.UDPConn) error { return nil }

func replyControl([]byte) []byte { return nil }
