package rules

import (
	"slices"
	"testing"
)

func TestFaultKinds(t *testing.T) {
	ref, kafka, ext := TargetNamed("reference"), TargetNamed("kafka"), TargetNamed("external")
	if got := FaultsOn(ref); !slices.Equal(got, []string{KillServer, PauseStorage, RestartPulsar, DisconnectPulsar, UnloadBundle}) {
		t.Errorf("faults on the reference: %v", got)
	}
	if got := FaultsOn(kafka); !slices.Equal(got, []string{KillServer, PauseStorage}) {
		t.Errorf("faults on kafka: %v", got)
	}
	if got := FaultsOn(ext); len(got) != 0 {
		t.Errorf("faults on an external target: %v", got)
	}
	// Every kind that does not apply says why, so the report can show it as N/A.
	for _, tg := range []Target{ref, kafka, ext} {
		for _, k := range FaultKinds {
			if ok, why := FaultApplies(k.Name, tg); !ok && why == "" {
				t.Errorf("%s on %s: N/A without a reason", k.Name, tg.Name)
			}
		}
	}
	if ok, why := FaultRunApplies(ext); ok || why == "" {
		t.Error("the fault run must not apply to an external target, with a reason")
	}
	if ok, _ := FaultApplies("kill-servers", ref); ok {
		t.Error("an unknown kind of fault must not apply")
	}
	seen := map[string]bool{}
	for _, k := range FaultKinds {
		if k.Description == "" || seen[k.Name] {
			t.Errorf("fault kind %q: empty description or declared twice", k.Name)
		}
		seen[k.Name] = true
	}
}
