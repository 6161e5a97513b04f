package childproc

import (
	"syscall"
	"testing"
)

func TestAttrPdeathsig(t *testing.T) {
	if a := Attr(); a.Pdeathsig != syscall.SIGKILL {
		t.Fatalf("Pdeathsig = %v, want SIGKILL", a.Pdeathsig)
	}
}
