package report

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/kop-conformance/kop-conformance/conformance/checker"
	"github.com/kop-conformance/kop-conformance/conformance/evidence"
	"github.com/kop-conformance/kop-conformance/conformance/rules"
	"github.com/kop-conformance/kop-conformance/matrix/dims"
)

// FaultRun is one fault run of a target (a spec labelled dims.Faults): the spec's verdict and
// the evidence it recorded (evidence.FaultRun), read from passed and failed specs alike.
type FaultRun struct {
	Target      string  `json:"target"`
	Spec        string  `json:"spec"`
	Status      string  `json:"status"` // PASS or FAIL
	Failure     string  `json:"failure,omitempty"`
	DurationSec float64 `json:"duration_seconds"`
	Run         string  `json:"run,omitempty"` // gate or nightly
	Rounds      int     `json:"rounds,omitempty"`
	// Summary is the checker's (its faults field counts the faults injected, by kind); nil
	// when the spec failed before it recorded one.
	Summary    *checker.Summary `json:"summary,omitempty"`
	Violations []string         `json:"violations,omitempty"`
	Error      string           `json:"error,omitempty"`
	// NotApplicable are the kinds of fault the run does not inject on the target, with the
	// declared reason (conformance/rules).
	NotApplicable map[string]string `json:"not_applicable,omitempty"`
}

// faultRunOf reads one executed fault-run spec. Unreadable evidence leaves the counts out,
// never the verdict.
func faultRunOf(target string, sr types.SpecReport) FaultRun {
	f := FaultRun{Target: target, Spec: sr.FullText(), Status: Pass, DurationSec: sr.RunTime.Seconds(), Run: "gate"}
	if dims.ParseLabels(sr.Labels()).Nightly {
		f.Run = "nightly" // until the evidence says otherwise
	}
	if sr.State != types.SpecStatePassed {
		f.Status, f.Failure = Fail, clip(sr.State.String()+": "+sr.Failure.Message, 300)
	}
	for _, e := range sr.ReportEntries {
		if e.Name != evidence.FaultsEntry {
			continue
		}
		var run evidence.FaultRun
		if err := json.Unmarshal([]byte(e.Value.AsJSON), &run); err != nil {
			continue
		}
		f.Rounds, f.Violations, f.Error = run.Rounds, run.Violations, run.Error
		if run.Run != "" {
			f.Run = run.Run
		}
		if run.DurationSec > 0 {
			f.DurationSec = run.DurationSec
		}
		s := run.Summary
		f.Summary = &s
	}
	rt := rules.TargetNamed(target)
	for _, k := range rules.FaultKinds {
		if ok, why := rules.FaultApplies(k.Name, rt); !ok {
			if f.NotApplicable == nil {
				f.NotApplicable = map[string]string{}
			}
			f.NotApplicable[k.Name] = why
		}
	}
	return f
}

// injected lists the faults a run injected ("kill-server ×1, pause-storage ×1"), in the
// declared order, then those that do not apply on its target.
func (f FaultRun) injected() string {
	var parts []string
	if f.Summary != nil {
		for _, k := range rules.FaultKinds {
			if n := f.Summary.Faults[k.Name]; n > 0 {
				parts = append(parts, fmt.Sprintf("%s ×%d", k.Name, n))
			}
		}
	}
	out := strings.Join(parts, ", ")
	if out == "" {
		out = "none recorded"
	}
	var na []string
	for _, k := range rules.FaultKinds {
		if _, ok := f.NotApplicable[k.Name]; ok {
			na = append(na, k.Name)
		}
	}
	if len(na) > 0 {
		out += " (N/A: " + strings.Join(na, ", ") + ")"
	}
	return out
}

// faultsSection writes the Faults table: a row per fault run, and for each target without
// one whether the run does not apply there or was not selected; then the failures with their
// first violations, and the reasons of the kinds that do not apply.
func faultsSection(b *strings.Builder, m *Matrix) {
	b.WriteString("\n## Faults\n\nThe fault run drives franz-go at the top protocol level: three idempotent producers " +
		"(acks=all) write unique values to a 4-partition topic and a two-member consumer group reads and commits, " +
		"while faults are injected and healed in turn; then every partition is read back from its start and the " +
		"history is checked (`conformance/checker`). A value is lost when it was acknowledged and is not in the log, " +
		"duplicated when the log holds it twice.\n\n")
	b.WriteString("| target | run | faults injected | values acknowledged | lost | duplicated | order violations | commit regressions | group resumed | result |\n" +
		"|---|---|---|---|---|---|---|---|---|---|\n")
	ran := map[string]bool{}
	for _, f := range m.Faults {
		ran[f.Target] = true
		run := f.Run
		if run == "" {
			run = "–"
		}
		counts := "| – | – | – | – | – | – "
		if s := f.Summary; s != nil {
			counts = fmt.Sprintf("| %d | %d | %d | %d | %d | %s ", s.Acknowledged, s.Lost, s.Duplicated, s.OrderViolations, s.CommitRegressions, yesNo(s.Resumed))
		}
		fmt.Fprintf(b, "| %s | %s | %s %s| %s |\n", f.Target, run, f.injected(), counts, mark[f.Status])
	}
	for _, t := range m.Targets {
		if ran[t.Name] {
			continue
		}
		status, why := NotRun, "not selected in this run"
		if ok, reason := rules.FaultRunApplies(rules.TargetNamed(t.Name)); !ok {
			status, why = NA, reason
		}
		fmt.Fprintf(b, "| %s | – | %s | – | – | – | – | – | – | %s |\n", t.Name, why, mark[status])
	}
	var notes []string
	for _, f := range m.Faults {
		if f.Status != Fail {
			continue
		}
		notes = append(notes, fmt.Sprintf("- ❌ %s (%s): %s", f.Target, f.Spec, firstLine(f.Failure)))
		if f.Error != "" {
			notes = append(notes, "  - cut short: "+firstLine(f.Error))
		}
		if s := f.Summary; s != nil {
			notes = append(notes, fmt.Sprintf("  - also: %d misplaced, %d offset conflicts, %d unconsumed, %d unknown, %d written though their send failed",
				s.Misplaced, s.OffsetConflicts, s.Unconsumed, s.Unknown, s.FailedPresent))
		}
		for _, v := range f.Violations {
			notes = append(notes, "  - "+clip(v, 300))
		}
	}
	seen := map[string]bool{}
	for _, f := range m.Faults {
		for _, k := range rules.FaultKinds {
			why, ok := f.NotApplicable[k.Name]
			note := fmt.Sprintf("- ➖ %s on %s: %s", k.Name, f.Target, why)
			if ok && !seen[note] {
				seen[note] = true
				notes = append(notes, note)
			}
		}
	}
	if len(notes) > 0 {
		b.WriteString("\n" + strings.Join(notes, "\n") + "\n")
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "**no**"
}
