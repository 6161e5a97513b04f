package traffic

import (
	"time"

	"github.com/stargate-edge/stargate/internal/plugin"
)

// Sleep waits d, as APISIX's core.sleep in a plugin, returning early when
// the client goes away.
func Sleep(c *plugin.Ctx, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	if c.Req == nil {
		<-t.C
		return
	}
	select {
	case <-t.C:
	case <-c.Req.Context().Done():
	}
}

// Seconds converts APISIX's float seconds to a Duration.
func Seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
