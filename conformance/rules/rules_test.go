package rules

import (
	"testing"

	"github.com/kop-conformance/kop-conformance/matrix/dims"
	"github.com/kop-conformance/kop-conformance/reference/faults"
)

func TestApplies(t *testing.T) {
	ref, kafka, ext := TargetNamed("reference"), TargetNamed("kafka"), TargetNamed("external")
	cases := []struct {
		feature, client, level string
		t                      Target
		want                   bool
	}{
		{"produce", "kafka-go", "1.0", ref, true},
		{"produce", "kafka-go", "1.0", ext, true},
		{"produce", "kafka-go", "1.0", kafka, true},
		{"durability", "sarama", "1.0", kafka, true},
		{"durability", "franz-go", "2.6", ext, false},
		{"durability", "franz-go", "2.6", ref, true},
		{"nope", "franz-go", "2.6", ref, false},
		{"offset-reset", "kafka-go", "2.6", ref, false},
		{"offset-reset", "sarama", "2.6", ref, true},
		{"group-admin", "sarama", "1.0", ref, true},
		{"group-admin", "sarama", "1.1", ref, true},
		{"interop", "sarama", "1.0", ref, true},
		{"interop", "sarama", "1.0", kafka, false},
		{"transactions", "franz-go", "2.6", ref, true}, // applies, but is not served there
	}
	for _, c := range cases {
		got, why := Applies(c.feature, c.client, c.level, c.t)
		if got != c.want || (!got && why == "") {
			t.Errorf("Applies(%s,%s,%s,%s) = %v %q, want %v with a reason when false", c.feature, c.client, c.level, c.t.Name, got, why, c.want)
		}
	}
	if Runs("transactions", "franz-go", "2.6", ref) || !Runs("transactions", "franz-go", "2.6", kafka) {
		t.Error("transactions must run on kafka only")
	}
	if ns, why := NotServed("transactions", ref); !ns || why == "" {
		t.Error("transactions must be declared not served by the reference, with a reason")
	}
}

// TestFeaturesNameKnownClientsAndLevels: a rule that names a client or level the matrix does
// not have would never apply.
func TestFeaturesNameKnownClientsAndLevels(t *testing.T) {
	for _, f := range Features {
		for c := range f.Lacking {
			if !dims.IsClient(c) {
				t.Errorf("feature %s: lacking client %q is not a client of the matrix", f.Name, c)
			}
		}
		if _, ok := dims.LevelNamed(f.MinLevel); f.MinLevel != "" && !ok {
			t.Errorf("feature %s: min level %q is not a level of the matrix", f.Name, f.MinLevel)
		}
	}
}

func TestEveryFeatureDeclaresItsAPIs(t *testing.T) {
	for _, f := range Features {
		if len(f.APIs) == 0 {
			t.Errorf("feature %s declares no APIs its specs must send", f.Name)
		}
	}
}

// TestEveryFaultNamesDeclaredFeatures keeps the mutation check honest: a fault expected to be
// caught by a feature that is not a matrix row would select no specs and never be killed.
func TestEveryFaultNamesDeclaredFeatures(t *testing.T) {
	for _, f := range faults.All {
		for _, name := range f.Features {
			if name == faults.Faults {
				continue // the fault run, which is no matrix row (fixtures/scripts/mutants.sh)
			}
			if _, ok := Lookup(name); !ok {
				t.Errorf("fault %s names feature %q, which is not declared", f.Name, name)
			}
		}
	}
}
