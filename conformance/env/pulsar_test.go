package env

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// The local image's standalone.conf and the official image's settings must say the same, or
// the suite would prove a different Pulsar depending on which image ran.
func TestPulsarSettingsMatchTheLocalImage(t *testing.T) {
	f, err := os.Open("../../fixtures/images/pulsar/standalone.conf")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	conf := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			conf[k] = v
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for k, v := range pulsarSettings {
		if got, ok := conf[k]; !ok || got != v {
			t.Errorf("standalone.conf: %s=%q, the official image gets %q", k, got, v)
		}
	}
	// Pulsar refuses what the gateway would refuse (--max-partitions-per-topic's default), so a
	// topic created around the gateway cannot be larger either.
	if got := pulsarSettings["maxNumPartitionsPerPartitionedTopic"]; got != "1000" {
		t.Errorf("maxNumPartitionsPerPartitionedTopic = %q, want 1000", got)
	}
}
