package traffic

import "fmt"

// LocalPolicy refuses a limit plugin configuration whose counters would
// live in Redis: Stargate keeps them in the process only, and serving such
// a route with local counters would silently change its meaning (one limit
// per node instead of one per cluster).
func LocalPolicy(conf map[string]any) error {
	p, _ := conf["policy"].(string)
	if p == "" || p == "local" {
		return nil
	}
	return fmt.Errorf("policy %s is not supported yet", p)
}
