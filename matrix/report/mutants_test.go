package report

import (
	"bytes"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/kop-conformance/kop-conformance/reference/faults"
)

func TestBuildMutantsVerdicts(t *testing.T) {
	fetch := func(state types.SpecState) types.SpecReport {
		return spec(state, "client:franz-go", "level:2.0", "feature:fetch")
	}
	caught := fetch(types.SpecStateFailed)
	caught.Failure.Message = "Expected <int64>: " + strings.Repeat("9", 400) + "\nto equal 5"
	timedOut := fetch(types.SpecStateTimedout)
	setup := types.SpecReport{LeafNodeType: types.NodeTypeBeforeSuite, State: types.SpecStateFailed,
		Failure: types.Failure{Message: "reference did not start: --fault unknown"}}
	inputs := []MutantInput{
		{faults.NoLongPoll, writeReport(t, fetch(types.SpecStatePassed), caught, fetch(types.SpecStatePassed))},
		{faults.NoWake, writeReport(t, fetch(types.SpecStatePassed), fetch(types.SpecStatePassed))},
		{faults.IgnoreMinBytes, writeReport(t, setup, fetch(types.SpecStateSkipped))},
		{faults.StaleHighWater, writeReport(t, fetch(types.SpecStateSkipped))},
		{faults.DropCommits, filepath.Join(t.TempDir(), "missing.json")},
		{faults.LoseRecord, writeReport(t, timedOut)},
	}
	r, err := BuildMutants(inputs, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		fault         string
		verdict       string
		run, red      int
		reasonHas     string
		firstRedState string
	}{
		{faults.NoLongPoll, Killed, 3, 1, "", "failed"},
		{faults.NoWake, Survived, 2, 0, "", ""},
		{faults.IgnoreMinBytes, Unjudged, 0, 0, "suite set-up failed: BeforeSuite: reference did not start", ""},
		{faults.StaleHighWater, Unjudged, 0, 0, "no executed spec", ""},
		{faults.DropCommits, Unjudged, 0, 0, "missing.json", ""},
		{faults.LoseRecord, Killed, 1, 1, "", "timedout"},
		{faults.HeadersHidden, Unjudged, 0, 0, "no report given", ""},
	}
	byName := map[string]Mutant{}
	for _, mu := range r.Mutants {
		byName[mu.Name] = mu
	}
	for _, c := range cases {
		mu := byName[c.fault]
		if mu.Verdict != c.verdict || mu.SpecsRun != c.run || mu.SpecsRed != c.red || !strings.Contains(mu.NotRunReason, c.reasonHas) {
			t.Errorf("%s: verdict %s, run %d, red %d, reason %q; want %s, %d, %d, %q", c.fault, mu.Verdict, mu.SpecsRun, mu.SpecsRed,
				mu.NotRunReason, c.verdict, c.run, c.red, c.reasonHas)
		}
		if c.firstRedState != "" && (len(mu.RedSpecs) == 0 || mu.RedSpecs[0].State != c.firstRedState) {
			t.Errorf("%s: red specs %+v, want the first %s", c.fault, mu.RedSpecs, c.firstRedState)
		}
	}
	if len(r.Mutants) != len(faults.All) {
		t.Fatalf("%d mutants listed, faults.All has %d", len(r.Mutants), len(faults.All))
	}
	for i, f := range faults.All {
		if r.Mutants[i].Name != f.Name || r.Mutants[i].Description != f.Description {
			t.Fatalf("mutant %d is %s, want %s in faults.All order", i, r.Mutants[i].Name, f.Name)
		}
	}
	if r.Killed != 2 || r.Survived != 1 || r.NotRun != len(faults.All)-3 || len(r.Unsafe()) != len(faults.All)-2 {
		t.Errorf("counts killed %d survived %d not run %d, unsafe %d", r.Killed, r.Survived, r.NotRun, len(r.Unsafe()))
	}
	if f := byName[faults.NoLongPoll].RedSpecs[0].Failure; len(f) > 210 || !strings.HasPrefix(f, "Expected <int64>: 999") || strings.Contains(f, "to equal") {
		t.Errorf("red spec failure %q is not the first line clipped to ~200 characters", f)
	}

	var md bytes.Buffer
	if err := MutantsMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{
		"2 killed, 1 survived, " + strconv.Itoa(len(faults.All)-3) + " not run",
		"| mutant | breaks | caught by features | specs run | red | verdict |",
		"| no-long-poll | Fetch answers at once when it has less than min bytes instead of waiting up to max wait | fetch | 3 | 1 | killed |",
		"| no-wake | a parked Fetch is not woken by new records: it always sleeps out its max wait | fetch | 2 | 0 | **SURVIVED** |",
		"| drop-commits | OffsetCommit answers success and stores nothing | offsets, groups | 0 | 0 | not run |",
		"### no-long-poll: killed\n\n- client:franz-go level:2.0 feature:fetch (failed): ` Expected <int64>: 999",
		"### ignore-min-bytes: not run\n\nsuite set-up failed: BeforeSuite: reference did not start",
		"### no-wake: SURVIVED\n\nAll 2 spec(s) passed",
	} {
		if !strings.Contains(md.String(), w) {
			t.Errorf("mutants.md lacks %q:\n%s", w, md.String())
		}
	}
}

func TestBuildMutantsRejectsBadInput(t *testing.T) {
	p := writeReport(t)
	cases := []struct {
		name   string
		inputs []MutantInput
		want   string
	}{
		{"unknown fault", []MutantInput{{"no-such-fault", p}}, `unknown fault "no-such-fault"`},
		{"fault given twice", []MutantInput{{faults.NoWake, p}, {faults.NoWake, p}}, `fault "no-wake" given twice`},
	}
	for _, c := range cases {
		if _, err := BuildMutants(c.inputs, time.Now()); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}

func TestCodeSpanKeepsBackticks(t *testing.T) {
	cases := map[string]string{
		"":                "(no message)",
		"Expected <int>":  "` Expected <int> `",
		"has `one` tick":  "`` has `one` tick ``",
		"has ``two`` now": "``` has ``two`` now ```",
	}
	for in, want := range cases {
		if got := code(in); got != want {
			t.Errorf("code(%q) = %q, want %q", in, got, want)
		}
	}
}
