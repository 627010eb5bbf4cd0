package config

import (
	"strings"
	"testing"
)

func TestParseDefaultsAndOverrides(t *testing.T) {
	env := map[string]string{"KOP_TENANT": "acme", "KOP_DEFAULT_PARTITIONS": "3"}
	c, err := Parse([]string{"--namespace", "kafka", "--listeners", "0.0.0.0:9092=h:19092,2.0/0.0.0.0:9120=h:19120"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Tenant != "acme" || c.Namespace != "kafka" || c.DefaultPartitions != 3 {
		t.Fatalf("got %+v", c)
	}
	if len(c.Listeners) != 2 || c.Listeners[1].Level != "2.0" || c.Listeners[1].Advertised != "h:19120" {
		t.Fatalf("listeners %+v", c.Listeners)
	}
}

func TestParseRejects(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--listeners", "0.0.0.0:9092"}, "BIND=ADVERTISED"},
		{[]string{"--listeners", "9.9/0.0.0.0:9092=h:1"}, "unknown protocol level"},
		{[]string{"--listeners", "0.0.0.0:9092=h:0"}, "not 1-65535"},
		{[]string{"--listeners", "0.0.0.0:1=h:1,0.0.0.0:1=h:2"}, "used twice"},
		{[]string{"--default-partitions", "0"}, "below the minimum"},
		{[]string{"--node-id", "x"}, "not a 32-bit integer"},
		{[]string{"--pulsar-url", "http://x"}, "must start with pulsar://"},
		{[]string{"--max-message-bytes", "2000", "--max-request-bytes", "1500"}, "cannot exceed"},
		{[]string{"--log-level", "loud"}, "not one of"},
		{[]string{"--auto-create-topics", "maybe"}, "not a boolean"},
		{[]string{"extra"}, "unexpected arguments"},
	}
	for _, c := range cases {
		_, err := Parse(c.args, func(string) string { return "" })
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want it to mention %q", c.args, err, c.want)
		}
	}
}
