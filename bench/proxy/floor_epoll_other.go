//go:build !linux

package main

import (
	"fmt"
	"os"
)

func epollFloorMain(string, string) {
	fmt.Fprintln(os.Stderr, "epoll floor: Linux only")
	os.Exit(2)
}
