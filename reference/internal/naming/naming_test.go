package naming

import (
	"fmt"
	"strings"
	"testing"
)

func TestToPulsarAndBack(t *testing.T) {
	long := strings.Repeat("a", MaxLength)
	longPartition := strings.Repeat("x", MaxLength-len("-partition-9")) + "-partition-9"
	cases := []struct {
		kafka, pulsar string
	}{
		{"t", "t"},
		{"orders", "orders"},
		{"t-partition-3", "t-partition=3"},
		{"t-partition-", "t-partition="},
		{"-partition-", "-partition="},
		{"t-partition", "t-partition"},
		{"t-partition-x", "t-partition=x"},
		{"a-partition-partition-b", "a-partition=partition-b"}, // overlapping occurrences
		{"a-partition--partition-b", "a-partition=-partition=b"},
		{"a-partition-b-partition-c", "a-partition=b-partition=c"},
		{"with.dots", "with.dots"},
		{"with_underscores", "with_underscores"},
		{"Mixed-Case.0_9", "Mixed-Case.0_9"},
		{"..a", "..a"},
		{"-", "-"},
		{long, long},
		{longPartition, strings.Repeat("x", MaxLength-len("-partition-9")) + "-partition=9"},
	}
	for _, tc := range cases {
		if err := Check(tc.kafka); err != nil {
			t.Fatalf("%q: not legal: %v", tc.kafka, err)
		}
		got := ToPulsar(tc.kafka)
		if got != tc.pulsar {
			t.Errorf("ToPulsar(%q) = %q, want %q", tc.kafka, got, tc.pulsar)
		}
		if strings.Contains(got, "-partition-") {
			t.Errorf("ToPulsar(%q) = %q still contains -partition-", tc.kafka, got)
		}
		if len(got) != len(tc.kafka) {
			t.Errorf("ToPulsar(%q) changed the length", tc.kafka)
		}
		back, ok := FromPulsar(got)
		if !ok || back != tc.kafka {
			t.Errorf("FromPulsar(%q) = %q, %v; want %q", got, back, ok, tc.kafka)
		}
	}
}

// A Kafka topic named like another topic's partition is a different Pulsar topic, and so are
// all the partitions of the two.
func TestNoCollisionWithPartitionTopics(t *testing.T) {
	seen := map[string]string{}
	for _, topic := range []string{"t", "t-partition-3", "t-partition-3-partition-0", "t-partition"} {
		names := []string{ToPulsar(topic)}
		for p := 0; p < 5; p++ {
			names = append(names, fmt.Sprintf("%s-partition-%d", ToPulsar(topic), p))
		}
		for _, n := range names {
			if other, dup := seen[n]; dup {
				t.Fatalf("Pulsar topic %s belongs to both Kafka topics %q and %q", n, other, topic)
			}
			seen[n] = topic
		}
	}
}

func TestFromPulsarRejectsNonKafkaNames(t *testing.T) {
	for _, local := range []string{
		"",        // empty
		".", "..", // Kafka forbids
		"t-partition-3",           // a partition topic, or a name ToPulsar never makes
		"a-partition-partition=b", // decodes to a name whose encoding differs
		"a=b",                     // '=' outside the escape
		"t-partition==3",          // decodes to a name with '='
		"has space",
		"slash/inside",
		"ü",
		strings.Repeat("a", MaxLength+1),
		"x:y",
	} {
		if name, ok := FromPulsar(local); ok {
			t.Errorf("FromPulsar(%q) = %q, true; want rejected", local, name)
		}
	}
}

func TestCheck(t *testing.T) {
	cases := []struct {
		name  string
		legal bool
	}{
		{"a", true},
		{strings.Repeat("a", MaxLength), true},
		{strings.Repeat("a", MaxLength+1), false},
		{"", false},
		{".", false},
		{"..", false},
		{"...", true},
		{"a.b_c-d", true},
		{"a b", false},
		{"a/b", false},
		{"a=b", false},
		{"a:b", false},
		{"é", false},
	}
	for _, tc := range cases {
		if err := Check(tc.name); (err == nil) != tc.legal {
			t.Errorf("Check(%q) = %v, want legal=%v", tc.name, err, tc.legal)
		}
	}
}

// FuzzRoundTrip checks the bijection on arbitrary input: every legal name round-trips and its
// Pulsar name never contains Pulsar's partition suffix; every accepted Pulsar name re-encodes
// to itself.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{"t", "t-partition-3", "a-partition-partition-b", "-partition--partition-", "x=y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if Check(s) == nil {
			p := ToPulsar(s)
			if strings.Contains(p, "-partition-") {
				t.Fatalf("ToPulsar(%q) = %q contains -partition-", s, p)
			}
			if back, ok := FromPulsar(p); !ok || back != s {
				t.Fatalf("round trip of %q: %q, %v", s, back, ok)
			}
		}
		if k, ok := FromPulsar(s); ok && ToPulsar(k) != s {
			t.Fatalf("FromPulsar(%q) = %q, which encodes to %q", s, k, ToPulsar(k))
		}
	})
}
