package faults

import "testing"

func TestParse(t *testing.T) {
	s, err := Parse(" no-wake, drop-commits ,")
	if err != nil || !s.On(NoWake) || !s.On(DropCommits) || s.On(NoLongPoll) || len(s.Names()) != 2 {
		t.Fatalf("Parse: %v %v", s, err)
	}
	if _, err := Parse("no-such-fault"); err == nil {
		t.Error("an unknown fault must be an error")
	}
	var none Set
	if none.On(NoWake) {
		t.Error("the zero set has no faults")
	}
}

func TestEveryFaultNamesFeatures(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range All {
		if f.Name == "" || f.Description == "" || len(f.Features) == 0 || seen[f.Name] {
			t.Errorf("fault %+v: needs a unique name, a description and features", f)
		}
		seen[f.Name] = true
	}
}
