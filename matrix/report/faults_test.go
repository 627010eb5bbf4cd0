package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/kop-conformance/kop-conformance/conformance/checker"
	"github.com/kop-conformance/kop-conformance/conformance/evidence"
	"github.com/kop-conformance/kop-conformance/conformance/rules"
)

// faultSpec is a fault-run spec as the suite labels it, with its evidence entry when run is
// not nil (recorded the way the suite does: AddReportEntry of an evidence.FaultRun).
func faultSpec(state types.SpecState, run *evidence.FaultRun, extra ...string) types.SpecReport {
	sr := spec(state, append([]string{"client:franz-go", "level:2.6", "faults"}, extra...)...)
	if run != nil {
		sr.ReportEntries = append(sr.ReportEntries, types.ReportEntry{Name: evidence.FaultsEntry, Value: types.WrapEntryValue(*run)})
	}
	return sr
}

func summary(acked, lost, dup int, faults map[string]int) checker.Summary {
	return checker.Summary{Sent: acked + 10, Acknowledged: acked, Indeterminate: 10, Lost: lost, Duplicated: dup, Resumed: lost == 0, Faults: faults}
}

func TestFaultRunsAreReadFromPassedAndFailedSpecs(t *testing.T) {
	refFaults := map[string]int{rules.KillServer: 1, rules.PauseStorage: 1, rules.RestartPulsar: 1, rules.DisconnectPulsar: 1, rules.UnloadBundle: 1}
	ref := writeReport(t,
		faultSpec(types.SpecStatePassed, &evidence.FaultRun{Target: "reference", Run: "gate", Rounds: 1, DurationSec: 140,
			Summary: summary(12000, 0, 0, refFaults)}),
		faultSpec(types.SpecStateSkipped, nil, "nightly"), // not selected: says nothing
		spec(types.SpecStatePassed, "client:franz-go", "level:2.6", "feature:produce"),
	)
	failed := faultSpec(types.SpecStateFailed, &evidence.FaultRun{Target: "kafka", Run: "nightly", Rounds: 3, DurationSec: 300,
		Summary:    summary(30000, 2, 1, map[string]int{rules.KillServer: 3, rules.PauseStorage: 3}),
		Violations: []string{"lost: p1-000017 (p1) was acknowledged at 2/9 and is not in the final read"},
		Error:      "pause-storage: not recovered within 1m30s"}, "nightly")
	failed.Failure.Message = "2 acknowledged values lost\nExpected <int>: 2"
	timedOut := faultSpec(types.SpecStateTimedout, nil)
	timedOut.Failure.Message = "A spec timeout occurred"
	unreadable := faultSpec(types.SpecStatePassed, nil)
	unreadable.ReportEntries = types.ReportEntries{{Name: evidence.FaultsEntry, Value: types.WrapEntryValue("not a run")}}
	kafka := writeReport(t, failed, timedOut, unreadable)
	ext := writeReport(t, spec(types.SpecStatePassed, "client:sarama", "level:2.6", "feature:produce"))

	m, err := Build([]Input{{Target: "reference", Path: ref}, {Target: "kafka", Path: kafka}, {Target: "external", Path: ext}}, []string{"2.6"}, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Faults) != 4 {
		t.Fatalf("fault runs %+v, want 4 (the skipped one left out)", m.Faults)
	}
	r, k, to, un := m.Faults[0], m.Faults[1], m.Faults[2], m.Faults[3]
	if r.Target != "reference" || r.Status != Pass || r.Run != "gate" || r.Summary == nil || r.Summary.Acknowledged != 12000 || r.DurationSec != 140 || len(r.NotApplicable) != 0 {
		t.Errorf("reference run %+v", r)
	}
	if k.Target != "kafka" || k.Status != Fail || !strings.Contains(k.Failure, "2 acknowledged values lost") || k.Summary == nil ||
		k.Summary.Lost != 2 || k.Rounds != 3 || len(k.Violations) != 1 || k.Error == "" {
		t.Errorf("failed kafka run %+v", k)
	}
	for _, kind := range []string{rules.RestartPulsar, rules.DisconnectPulsar, rules.UnloadBundle} {
		if k.NotApplicable[kind] == "" {
			t.Errorf("kafka run: %s is not declared N/A with its reason: %v", kind, k.NotApplicable)
		}
	}
	if to.Status != Fail || to.Summary != nil || !strings.Contains(to.Failure, "timedout: A spec timeout occurred") {
		t.Errorf("a run that failed before its evidence: %+v", to)
	}
	if un.Status != Pass || un.Summary != nil {
		t.Errorf("unreadable evidence must lose the counts, not the verdict: %+v", un)
	}
	// Fault runs count as specs, and are no cell's.
	if got := m.Targets[0]; got.SpecsPassed != 2 || got.SpecsFailed != 0 {
		t.Errorf("reference spec counts %+v", got)
	}
	if got := m.Targets[1]; got.SpecsPassed != 1 || got.SpecsFailed != 2 || got.CellCounts.Pass != 0 || got.CellCounts.Fail != 0 {
		t.Errorf("kafka counts %+v: the fault runs must count as specs and not as cells", got)
	}
	if c := m.find("reference", "produce", "franz-go", "2.6"); c.Status != Pass || len(c.Specs) != 1 {
		t.Errorf("the produce cell took the fault run's spec: %+v", c)
	}

	var md bytes.Buffer
	if err := Markdown(&md, m); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"## Faults",
		"| target | run | faults injected | values acknowledged | lost | duplicated | order violations | commit regressions | group resumed | result |",
		"| reference | gate | kill-server ×1, pause-storage ×1, restart-pulsar ×1, disconnect-pulsar ×1, unload-bundle ×1 | 12000 | 0 | 0 | 0 | 0 | yes | ✅ PASS |",
		"| kafka | nightly | kill-server ×3, pause-storage ×3 (N/A: restart-pulsar, disconnect-pulsar, unload-bundle) | 30000 | 2 | 1 | 0 | 0 | **no** | ❌ FAIL |",
		"| kafka | gate | none recorded (N/A: restart-pulsar, disconnect-pulsar, unload-bundle) | – | – | – | – | – | – | ❌ FAIL |",
		"| external | – | needs a server the suite starts, kills and pauses | – | – | – | – | – | – | ➖ N/A |",
		"- ❌ kafka (client:franz-go level:2.6 faults nightly): failed: 2 acknowledged values lost",
		"  - cut short: pause-storage: not recovered within 1m30s",
		"  - lost: p1-000017 (p1) was acknowledged at 2/9 and is not in the final read",
		"- ➖ restart-pulsar on kafka: Kafka keeps its log itself",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
	if n := strings.Count(md.String(), "- ➖ unload-bundle on kafka:"); n != 1 {
		t.Errorf("the N/A reason of unload-bundle on kafka is listed %d times, want once", n)
	}

	// matrix.json carries the runs with their counts.
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Faults []struct {
			Target  string `json:"target"`
			Status  string `json:"status"`
			Summary *struct {
				Acknowledged int            `json:"acknowledged"`
				Lost         int            `json:"lost"`
				Faults       map[string]int `json:"faults"`
			} `json:"summary"`
			NotApplicable map[string]string `json:"not_applicable"`
		} `json:"faults"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Faults) != 4 || doc.Faults[1].Summary == nil || doc.Faults[1].Summary.Lost != 2 || doc.Faults[1].Summary.Faults[rules.KillServer] != 3 ||
		doc.Faults[1].NotApplicable[rules.UnloadBundle] == "" || doc.Faults[2].Summary != nil {
		t.Errorf("matrix.json faults: %s", data)
	}
}

func TestFaultsSectionWithoutRuns(t *testing.T) {
	p := writeReport(t, spec(types.SpecStatePassed, "client:sarama", "level:2.0", "feature:produce"))
	m, err := Build([]Input{{Target: "reference", Path: p}}, []string{"2.0"}, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if m.Faults == nil || len(m.Faults) != 0 {
		t.Errorf("faults %v, want an empty list (matrix.json has [] rather than null)", m.Faults)
	}
	var md bytes.Buffer
	if err := Markdown(&md, m); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "| reference | – | not selected in this run | – | – | – | – | – | – | · not run |") {
		t.Errorf("markdown lacks the not-run row:\n%s", md.String())
	}
}
