package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/kop-conformance/kop-conformance/conformance/rules"
	"github.com/kop-conformance/kop-conformance/matrix/dims"
)

func spec(state types.SpecState, labels ...string) types.SpecReport {
	sr := types.SpecReport{LeafNodeType: types.NodeTypeIt, LeafNodeText: strings.Join(labels, " "), LeafNodeLabels: labels, State: state, RunTime: time.Second}
	if state.Is(types.SpecStateFailureStates) {
		sr.Failure = types.Failure{Message: "expected 5\nto equal 4"}
	}
	return sr
}

func writeReport(t *testing.T, specs ...types.SpecReport) string {
	t.Helper()
	rep := []types.Report{{SuiteSucceeded: false, RunTime: 90 * time.Second, SpecReports: specs}}
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "r.json")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBuildCellStates(t *testing.T) {
	p := writeReport(t,
		spec(types.SpecStatePassed, "client:franz-go", "level:1.0", "feature:produce"),
		spec(types.SpecStatePassed, "client:franz-go", "level:1.0", "feature:produce"),
		spec(types.SpecStatePassed, "client:sarama", "level:1.0", "feature:produce"),
		spec(types.SpecStateFailed, "client:sarama", "level:1.0", "feature:produce"),
		spec(types.SpecStateSkipped, "client:kafka-go", "level:1.0", "feature:produce"),
		spec(types.SpecStatePassed, "client:franz-go", "level:1.0", "feature:durability"),
	)
	ref, err := Build([]Input{{Target: "reference", Path: p}}, []string{"1.0"}, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	ext, err := Build([]Input{{Target: "external", Path: p}}, []string{"1.0"}, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		m                       *Matrix
		target, feature, client string
		want                    string
	}{
		{ref, "reference", "produce", "franz-go", Pass},
		{ref, "reference", "produce", "sarama", Fail},
		{ref, "reference", "produce", "kafka-go", NotRun}, // skipped specs say nothing
		{ref, "reference", "offsets", "franz-go", NotRun},
		{ext, "external", "produce", "kafka-go", NotRun}, // level proxies give it columns
		{ext, "external", "durability", "franz-go", NA},
	}
	for _, c := range cases {
		got := c.m.find(c.target, c.feature, c.client, "1.0")
		if got.Status != c.want {
			t.Errorf("%s/%s/%s = %s, want %s", c.target, c.feature, c.client, got.Status, c.want)
		}
		if got.Status == NA && got.Reason == "" {
			t.Errorf("%s/%s/%s is N/A without a reason", c.target, c.feature, c.client)
		}
	}
	if f := ref.find("reference", "produce", "sarama", "1.0"); !strings.Contains(f.Reason, "expected 5") {
		t.Errorf("failure reason %q does not carry the failure message", f.Reason)
	}
	if ref.Targets[0].SpecsPassed != 4 || ref.Targets[0].SpecsFailed != 1 {
		t.Errorf("spec counts %+v", ref.Targets[0])
	}
	var md bytes.Buffer
	if err := Markdown(&md, ref); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"❌ FAIL", "✅ PASS", "| reference | failed | 4 | 1 |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
}

func TestBuildRejectsNonReports(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.json")
	os.WriteFile(p, []byte(`{"not":"a report"}`), 0o644)
	if _, err := Build([]Input{{Target: "reference", Path: p}}, []string{"1.0"}, time.Now()); err == nil {
		t.Fatal("want an error for a file that is not a Ginkgo report")
	}
	if _, err := Build([]Input{{Target: "reference", Path: "/nonexistent"}}, []string{"1.0"}, time.Now()); err == nil {
		t.Fatal("want an error for a missing file")
	}
}

func TestDisagreementsAcrossTargets(t *testing.T) {
	a := writeReport(t, spec(types.SpecStatePassed, "client:sarama", "level:1.0", "feature:fetch"))
	b := writeReport(t, spec(types.SpecStateFailed, "client:sarama", "level:1.0", "feature:fetch"),
		spec(types.SpecStatePassed, "client:franz-go", "level:1.0", "feature:fetch"))
	m, err := Build([]Input{{Target: "reference", Path: a}, {Target: "kafka", Path: b}}, []string{"1.0"}, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Disagreements) != 1 {
		t.Fatalf("got %d disagreements, want 1 (franz-go ran on one target only): %+v", len(m.Disagreements), m.Disagreements)
	}
	d := m.Disagreements[0]
	if d.Client != "sarama" || d.Statuses["reference"] != Pass || d.Statuses["kafka"] != Fail {
		t.Fatalf("disagreement %+v", d)
	}
	var md bytes.Buffer
	Markdown(&md, m)
	if !strings.Contains(md.String(), "⚠ ✅ / ❌") {
		t.Errorf("side-by-side table does not flag the cell:\n%s", md.String())
	}
}

func TestMeasurementsSummarisePassedSpecs(t *testing.T) {
	timed := func(state types.SpecState, ms int64) types.SpecReport {
		sr := spec(state, "client:sarama", "level:2.0", "feature:groups")
		sr.ReportEntries = types.ReportEntries{
			{Name: "rebalance-join-to-first-record-ms", Value: types.WrapEntryValue(ms)},
			{Name: "a note", Value: types.WrapEntryValue("not a timing")},
		}
		return sr
	}
	p := writeReport(t, timed(types.SpecStatePassed, 300), timed(types.SpecStatePassed, 100),
		timed(types.SpecStatePassed, 200), timed(types.SpecStatePassed, 900), timed(types.SpecStateFailed, 60_000))
	m, err := Build([]Input{{Target: "kafka", Path: p}}, []string{"2.0"}, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	want := []Measurement{{Name: "rebalance-join-to-first-record", Target: "kafka", Count: 4, MinMs: 100, MedianMs: 250, MaxMs: 900}}
	if len(m.Measurements) != 1 || m.Measurements[0] != want[0] {
		t.Fatalf("measurements = %+v, want %+v (the failed spec's timing left out)", m.Measurements, want)
	}
	var md bytes.Buffer
	if err := Markdown(&md, m); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "| rebalance-join-to-first-record | kafka | 4 | 250 ms | 100 ms | 900 ms |") {
		t.Fatalf("markdown lacks the measurement row:\n%s", md.String())
	}
}

func TestNotServedCells(t *testing.T) {
	// The suite has no specs for a cell its target does not serve; stray ones (one failing)
	// must not change the declared status.
	ref := writeReport(t,
		spec(types.SpecStatePassed, "client:franz-go", "level:1.0", "feature:transactions"),
		spec(types.SpecStateFailed, "client:sarama", "level:1.0", "feature:log-append-time"),
	)
	kafka := writeReport(t,
		spec(types.SpecStatePassed, "client:franz-go", "level:1.0", "feature:transactions"),
		spec(types.SpecStatePassed, "client:sarama", "level:1.0", "feature:log-append-time"),
	)
	m, err := Build([]Input{{Target: "reference", Path: ref}, {Target: "kafka", Path: kafka}}, []string{"1.0"}, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		target, feature, client string
		want, reason            string
	}{
		{"reference", "transactions", "franz-go", NotServed, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED"},
		{"reference", "transactions", "kafka-go", NA, "no transactional producer"}, // does not apply: stays N/A
		{"reference", "log-append-time", "sarama", NotServed, "LogAppendTime is not served"},
		{"reference", "sasl-scram", "kafka-go", NotServed, "SCRAM is not served"},
		{"kafka", "transactions", "franz-go", Pass, ""},
		{"kafka", "sasl-scram", "kafka-go", NotRun, ""},
	}
	for _, c := range cases {
		got := m.find(c.target, c.feature, c.client, "1.0")
		if got.Status != c.want || !strings.Contains(got.Reason, c.reason) {
			t.Errorf("%s/%s/%s = %s %q, want %s with %q", c.target, c.feature, c.client, got.Status, got.Reason, c.want, c.reason)
		}
		if got.Status == NotServed && (len(got.Specs) > 0 || got.WireVersions != nil) {
			t.Errorf("%s/%s/%s is not served but carries specs %v", c.target, c.feature, c.client, got.Specs)
		}
	}
	notServed := func(target string) int {
		n := 0
		for _, f := range rules.Features {
			for _, c := range dims.Clients() {
				if ok, _ := rules.Applies(f.Name, c, "1.0", rules.TargetNamed(target)); ok && !rules.Runs(f.Name, c, "1.0", rules.TargetNamed(target)) {
					n++
				}
			}
		}
		return n
	}
	if got, want := m.Targets[0].CellCounts.NotServed, notServed("reference"); got != want || want == 0 {
		t.Errorf("reference counts %d not-served cells, the rules declare %d", got, want)
	}
	if got, want := m.Targets[1].CellCounts.NotServed, notServed("kafka"); got != want {
		t.Errorf("kafka counts %d not-served cells, the rules declare %d", got, want)
	}
	if len(m.Disagreements) != 0 {
		t.Errorf("not served vs PASS is not a disagreement: %+v", m.Disagreements)
	}
	var md bytes.Buffer
	if err := Markdown(&md, m); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"⛔ not served", "⛔ / ✅", "#### Failures, N/A and not-served reasons",
		"- ⛔ transactions: transactions are not served", "| client | PASS | FAIL | N/A | not run | not served |"} {
		if !strings.Contains(md.String(), w) {
			t.Errorf("markdown lacks %q", w)
		}
	}
	if n := strings.Count(md.String(), "- ⛔ sasl-scram:"); n != 1 {
		t.Errorf("the not-served reason of sasl-scram is listed %d times, want once", n)
	}
}
