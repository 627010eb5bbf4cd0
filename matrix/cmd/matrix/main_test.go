package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/kop-conformance/kop-conformance/matrix/report"
	"github.com/kop-conformance/kop-conformance/reference/faults"
)

// suiteReport writes a Ginkgo JSON report with one franz-go fetch spec per state given.
func suiteReport(t *testing.T, states ...types.SpecState) string {
	t.Helper()
	specs := make([]string, len(states))
	for i, s := range states {
		specs[i] = fmt.Sprintf(`{"LeafNodeType": "It", "LeafNodeText": "fetch %[1]s", "State": %[1]q,
			"LeafNodeLabels": ["client:franz-go", "level:2.0", "feature:fetch"]}`, s)
	}
	p := filepath.Join(t.TempDir(), "report.json")
	if err := os.WriteFile(p, []byte(`[{"SuiteSucceeded": true, "SpecReports": [`+strings.Join(specs, ",")+`]}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// allFaults gives every fault a report; except, when set, is left out.
func allFaults(t *testing.T, except string, states ...types.SpecState) []string {
	var args []string
	for _, f := range faults.All {
		if f.Name != except {
			args = append(args, "--mutant", f.Name+"="+suiteReport(t, states...))
		}
	}
	return args
}

func TestMutantsCommand(t *testing.T) {
	killed := []types.SpecState{types.SpecStatePassed, types.SpecStateFailed}
	cases := []struct {
		name    string
		args    func(t *testing.T) []string
		code    int
		written bool
		stderr  string
	}{
		{"every mutant killed", func(t *testing.T) []string { return allFaults(t, "", killed...) }, 0, true, ""},
		{"a survivor fails the command", func(t *testing.T) []string {
			return append(allFaults(t, faults.NoWake, killed...), "--mutant", faults.NoWake+"="+suiteReport(t, types.SpecStatePassed))
		}, 1, true, "mutant no-wake SURVIVED: 1 spec(s) of [fetch] ran, none went red"},
		{"a fault not given is not run", func(t *testing.T) []string { return allFaults(t, faults.AuthorizeAll, killed...) }, 1, true,
			"mutant authorize-all not run: no report given for it"},
		{"no mutant given", func(t *testing.T) []string { return nil }, 2, false, "want --mutant NAME=PATH"},
		{"unknown fault", func(t *testing.T) []string { return []string{"--mutant", "nope=" + suiteReport(t)} }, 2, false, `unknown fault "nope"`},
		{"malformed flag", func(t *testing.T) []string { return []string{"--mutant", "no-wake"} }, 2, false, "want NAME=PATH"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := t.TempDir()
			var stdout, stderr bytes.Buffer
			code := mutants(append(c.args(t), "--out", out), &stdout, &stderr)
			if code != c.code || !strings.Contains(stderr.String(), c.stderr) {
				t.Fatalf("exit %d, stderr %q; want %d with %q", code, stderr.String(), c.code, c.stderr)
			}
			data, err := os.ReadFile(filepath.Join(out, "mutants.json"))
			if !c.written {
				if err == nil {
					t.Fatal("mutants.json written on a usage error")
				}
				return
			}
			var r report.Mutants
			if err := json.Unmarshal(data, &r); err != nil || len(r.Mutants) != len(faults.All) {
				t.Fatalf("mutants.json: %v, %d mutants", err, len(r.Mutants))
			}
			if _, err := os.Stat(filepath.Join(out, "mutants.md")); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestRunWritesTheMatrix(t *testing.T) {
	out := t.TempDir()
	if err := run([]report.Input{{Target: "reference", Path: suiteReport(t, types.SpecStatePassed)}}, out, "2.0"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"matrix.md", "index.html", "badges/reference.svg", "badges/reference-sarama.svg"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	data, err := os.ReadFile(filepath.Join(out, "matrix.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m report.Matrix
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if c := m.Targets[0].CellCounts; c.Pass != 1 || c.NotServed == 0 {
		t.Errorf("cell counts %+v, want 1 pass and the reference's not-served cells", c)
	}
	badge, _ := os.ReadFile(filepath.Join(out, "badges/reference.svg"))
	if !strings.Contains(string(badge), "1/1 pass · ") {
		t.Errorf("badge does not count the not-served cells:\n%s", badge)
	}
	if page, _ := os.ReadFile(filepath.Join(out, "index.html")); strings.Contains(string(page), "bench.html") {
		t.Error("index.html links a benchmark page that is not there")
	}
}

// A benchmark page written by make bench beside the matrix is linked from the matrix's page.
func TestRunLinksTheBenchmark(t *testing.T) {
	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(out, "bench.html"), []byte("<!doctype html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run([]report.Input{{Target: "reference", Path: suiteReport(t, types.SpecStatePassed)}}, out, "2.0"); err != nil {
		t.Fatal(err)
	}
	page, _ := os.ReadFile(filepath.Join(out, "index.html"))
	if !strings.Contains(string(page), `<a href="bench.html">Benchmark`) {
		t.Error("index.html does not link bench.html")
	}
	if !strings.Contains(string(page), `<script type="application/json" id="matrix-data">{"`) {
		t.Error("the matrix's data is no longer embedded as JSON")
	}
}

func TestCheckLabelsCommand(t *testing.T) {
	for _, c := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"(level:1.0 || level:2.0 || level:2.6) && !nightly && (client:sarama && feature:fetch)"}, 0, ""},
		{[]string{"feature:grops"}, 2, `label "feature:grops": unknown feature`},
		{[]string{"level:2.0 || level:2.7"}, 2, `label "level:2.7": unknown level`},
		{[]string{"client:sarama &&"}, 2, "matrix check-labels:"},
		{nil, 2, "want one argument"},
	} {
		var stderr bytes.Buffer
		if code := checkLabels(c.args, &stderr); code != c.code || !strings.Contains(stderr.String(), c.stderr) {
			t.Errorf("check-labels %q: exit %d, stderr %q; want %d and %q", c.args, code, stderr.String(), c.code, c.stderr)
		}
	}
}

func TestPrintFailuresNamesFailedSpecsUpToALimit(t *testing.T) {
	m := &report.Matrix{Cells: []report.Cell{
		{Target: "reference", Feature: "produce", Client: "sarama", Level: "2.0", Specs: []report.Spec{
			{Name: "ok", State: "passed"},
			{Name: "lost a record", State: "failed", Location: "produce_test.go:10", Failure: "Expected 3\nto equal 4"},
			{Name: "hung", State: "timedout", Location: "produce_test.go:20", Failure: "timed out"},
		}},
	}}
	var b strings.Builder
	printFailures(&b, m, 1)
	got := b.String()
	want := "==> [matrix] FAILED reference produce/sarama/2.0: lost a record (produce_test.go:10): Expected 3\n" +
		"==> [matrix] ... and 1 more failed specs (see matrix.md)\n"
	if got != want {
		t.Fatalf("printFailures =\n%q\nwant\n%q", got, want)
	}
}

func TestPrintFailuresNamesAFailedFaultRunWithWhatTheCheckerFound(t *testing.T) {
	m := &report.Matrix{Faults: []report.FaultRun{
		{Target: "reference", Run: "gate", Status: report.Pass},
		{Target: "kafka", Run: "gate", Status: report.Fail, Failure: "failed: 1 of 9 acknowledged values lost:",
			Error: "pause-storage (round 1): not recovered", Violations: []string{"lost p1-7 at 3:12"}},
	}}
	var b strings.Builder
	printFailures(&b, m, 20)
	want := "==> [matrix] FAILED fault run kafka (gate): failed: 1 of 9 acknowledged values lost:\n" +
		"==> [matrix]   cut short: pause-storage (round 1): not recovered\n" +
		"==> [matrix]   lost p1-7 at 3:12\n"
	if got := b.String(); got != want {
		t.Fatalf("printFailures =\n%q\nwant\n%q", got, want)
	}
}
