package load

import (
	"strings"
	"testing"
	"time"
)

func env(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }

func TestFromEnv(t *testing.T) {
	s, err := FromEnv(env(nil))
	if err != nil || s != Full {
		t.Fatalf("no variables: %+v, %v; want the full sizes", s, err)
	}
	if s.Clients != 2000 || s.Groups != 1000 || s.Producers != 500 || s.Topics != 10000 {
		t.Fatalf("full sizes are not the issue's: %+v", s)
	}
	s, err = FromEnv(env(map[string]string{"LOAD": "quick", "LOAD_CLIENTS": "123", "LOAD_PRODUCE_SECONDS": "7"}))
	if err != nil || s.Mode != "quick" || s.Clients != 123 || s.ProduceTime != 7*time.Second || s.Groups != Quick.Groups {
		t.Fatalf("quick with overrides: %+v, %v", s, err)
	}
	for _, bad := range []map[string]string{
		{"LOAD": "medium"},
		{"LOAD_CLIENTS": "0"},
		{"LOAD_CLIENTS": "many"},
		{"LOAD_PRODUCERS": "1001"},
		{"LOAD_TOPICS": "-5"},
		{"LOAD_GROUP_SECONDS": "0"},
		{"LOAD_HEARTBEAT_SECONDS": "100000"},
	} {
		if _, err := FromEnv(env(bad)); err == nil {
			t.Errorf("%v accepted", bad)
		} else {
			for k := range bad {
				if !strings.Contains(err.Error(), k) {
					t.Errorf("%v: %v does not name the variable", bad, err)
				}
			}
		}
	}
}

// The whole of make load must fit its time: about 15 minutes full and 3 quick, of which the
// scenarios' bounds are the most they may take (they take far less when the servers keep up).
func TestBudgets(t *testing.T) {
	for _, c := range []struct {
		s   Sizes
		max time.Duration
	}{{Full, 20 * time.Minute}, {Quick, 10 * time.Minute}} {
		if b := c.s.Budget(); b > c.max {
			t.Errorf("%s: the scenarios may take %s on one target, more than %s", c.s.Mode, b, c.max)
		}
		if work := c.s.ProduceTime + c.s.HeartbeatTime; c.s.Mode == "quick" && work > 30*time.Second {
			t.Errorf("quick: %s of fixed-length work per target", work)
		}
	}
}
