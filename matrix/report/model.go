// Package report turns Ginkgo JSON reports into the compatibility matrix (target x feature x
// client x level) and renders it. Cell states come from spec states and the declared rules in
// conformance/rules; nothing is inferred from logs.
package report

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/kop-conformance/kop-conformance/conformance/rules"
	"github.com/kop-conformance/kop-conformance/matrix/dims"
)

// SchemaVersion changes when the JSON shape changes incompatibly.
const SchemaVersion = 1

// Cell states.
const (
	Pass   = "PASS"
	Fail   = "FAIL"
	NA     = "N/A"
	NotRun = "NOT RUN" // applicable, but not selected in this run (e.g. a level outside the PR gate)
	// NotServed cells apply but the target declares it does not serve the feature (a gap of
	// the target, with its reason, not of the client or the level).
	NotServed = "NOT SERVED"
)

// Spec is one executed spec of a cell.
type Spec struct {
	Name       string `json:"name"`
	State      string `json:"state"`
	DurationMs int64  `json:"duration_ms"`
	Failure    string `json:"failure,omitempty"`
	Location   string `json:"location,omitempty"`
}

// Cell is one target x feature x client x level result.
type Cell struct {
	Target  string `json:"target"`
	Feature string `json:"feature"`
	Client  string `json:"client"`
	Level   string `json:"level"`
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"` // why N/A or not served, or the first failure
	Specs   []Spec `json:"specs,omitempty"`
	// WireVersions are the versions of each API (by kmsg name) the cell's client sent during
	// its specs, ascending: evidence of the level the cell really ran at.
	WireVersions map[string][]int16 `json:"wire_versions,omitempty"`
}

// Counts tallies cells by status.
type Counts struct {
	Pass      int `json:"pass"`
	Fail      int `json:"fail"`
	NA        int `json:"na"`
	NotRun    int `json:"not_run"`
	NotServed int `json:"not_served"`
}

func (c *Counts) add(status string) {
	switch status {
	case Pass:
		c.Pass++
	case Fail:
		c.Fail++
	case NA:
		c.NA++
	case NotRun:
		c.NotRun++
	case NotServed:
		c.NotServed++
	}
}

// TargetRun summarises one target's suite run.
type TargetRun struct {
	Name         string            `json:"name"`
	SuiteSuccess bool              `json:"suite_succeeded"`
	StartedAt    time.Time         `json:"started_at"`
	DurationSec  float64           `json:"duration_seconds"`
	SpecsPassed  int               `json:"specs_passed"`
	SpecsFailed  int               `json:"specs_failed"`
	SetupFailure string            `json:"setup_failure,omitempty"`
	CellCounts   Counts            `json:"cell_counts"`
	ByClient     map[string]Counts `json:"cell_counts_by_client"`
}

// Feature is a matrix row description.
type Feature struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	MinLevel    string `json:"min_level,omitempty"`
}

// Matrix is the whole report (the JSON document, see reports/SCHEMA.md).
type Matrix struct {
	SchemaVersion int         `json:"schema_version"`
	GeneratedAt   time.Time   `json:"generated_at"`
	Targets       []TargetRun `json:"targets"`
	Features      []Feature   `json:"features"`
	Clients       []string    `json:"clients"`
	Levels        []string    `json:"levels"`
	Cells         []Cell      `json:"cells"`
	// Disagreements are cells that passed on one target and failed on another.
	Disagreements []Disagreement `json:"disagreements"`
	// Measurements summarise timings the specs recorded, per target, so targets measured in
	// the same run can be compared.
	Measurements []Measurement `json:"measurements"`
	// Faults are the fault runs, per target in input order (see faults.go).
	Faults []FaultRun `json:"faults"`
}

// Measurement summarises one timing (a spec report entry named "<what>-ms") over the passed
// specs of one target that recorded it.
type Measurement struct {
	Name     string  `json:"name"`
	Target   string  `json:"target"`
	Count    int     `json:"count"`
	MinMs    float64 `json:"min_ms"`
	MedianMs float64 `json:"median_ms"`
	MaxMs    float64 `json:"max_ms"`
}

// Disagreement is one feature x client x level whose verdict differs between targets.
type Disagreement struct {
	Feature  string            `json:"feature"`
	Client   string            `json:"client"`
	Level    string            `json:"level"`
	Statuses map[string]string `json:"statuses"` // target -> PASS or FAIL
}

// Input is one target's Ginkgo JSON report.
type Input struct {
	Target string
	Path   string
}

// Build reads the reports and assembles the matrix over the given levels.
func Build(inputs []Input, levels []string, now time.Time) (*Matrix, error) {
	m := &Matrix{SchemaVersion: SchemaVersion, GeneratedAt: now.UTC(), Clients: dims.Clients(), Levels: levels, Faults: []FaultRun{}}
	for _, f := range rules.Features {
		m.Features = append(m.Features, Feature{Name: f.Name, Description: f.Description, MinLevel: f.MinLevel})
	}
	for _, in := range inputs {
		rep, err := readReport(in.Path)
		if err != nil {
			return nil, err
		}
		run, cells, faults := buildTarget(in.Target, rep, levels)
		m.Targets = append(m.Targets, run)
		m.Cells = append(m.Cells, cells...)
		m.Faults = append(m.Faults, faults...)
		m.Measurements = append(m.Measurements, measurements(in.Target, rep)...)
	}
	m.Disagreements = disagreements(m)
	return m, nil
}

func disagreements(m *Matrix) []Disagreement {
	out := []Disagreement{}
	for _, f := range m.Features {
		for _, c := range m.Clients {
			for _, l := range m.Levels {
				st := map[string]string{}
				pass, fail := false, false
				for _, t := range m.Targets {
					s := m.find(t.Name, f.Name, c, l).Status
					if s == Pass || s == Fail {
						st[t.Name] = s
						pass, fail = pass || s == Pass, fail || s == Fail
					}
				}
				if pass && fail {
					out = append(out, Disagreement{Feature: f.Name, Client: c, Level: l, Statuses: st})
				}
			}
		}
	}
	return out
}

func readReport(path string) (types.Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return types.Report{}, fmt.Errorf("reading report: %w", err)
	}
	var reps []types.Report
	if err := json.Unmarshal(data, &reps); err != nil {
		return types.Report{}, fmt.Errorf("%s is not a Ginkgo JSON report: %w", path, err)
	}
	if len(reps) != 1 {
		return types.Report{}, fmt.Errorf("%s holds %d suite reports, want 1", path, len(reps))
	}
	return reps[0], nil
}

func buildTarget(target string, rep types.Report, levels []string) (TargetRun, []Cell, []FaultRun) {
	run := TargetRun{Name: target, SuiteSuccess: rep.SuiteSucceeded, StartedAt: rep.StartTime.UTC(),
		DurationSec: rep.RunTime.Seconds(), ByClient: map[string]Counts{}}
	ev, faults := collect(&run, rep)
	rt := rules.TargetNamed(target)
	var cells []Cell
	for _, f := range rules.Features {
		for _, c := range dims.Clients() {
			for _, l := range levels {
				cell := cellFor(Cell{Target: target, Feature: f.Name, Client: c, Level: l}, rt, ev[cellKey(f.Name, c, l)])
				run.CellCounts.add(cell.Status)
				bc := run.ByClient[c]
				bc.add(cell.Status)
				run.ByClient[c] = bc
				cells = append(cells, cell)
			}
		}
	}
	return run, cells, faults
}

// cellEvidence is what the executed specs of one cell left in the report.
type cellEvidence struct {
	specs []Spec
	wire  apiVersions // what the cell's own client sent
}

func cellKey(feature, client, level string) string { return feature + "|" + client + "|" + level }

// collect counts the report's executed specs into run and files each under its cells (a
// mixed-group spec under each of its clients, each with only its own wire versions), and
// reads the fault runs, passed or failed.
func collect(run *TargetRun, rep types.Report) (map[string]*cellEvidence, []FaultRun) {
	ev := map[string]*cellEvidence{}
	var faults []FaultRun
	for _, sr := range rep.SpecReports {
		if msg, failed := suiteNodeFailure(sr); failed {
			run.SetupFailure = msg
		}
		if !executed(sr) {
			continue
		}
		// A spec that involves several clients (a mixed group) counts for each of them.
		d := dims.ParseLabels(sr.Labels())
		if !d.Placed() && !d.Faults {
			continue
		}
		if sr.State.Is(types.SpecStateFailureStates) {
			run.SpecsFailed++
		} else if sr.State == types.SpecStatePassed {
			run.SpecsPassed++
		}
		if d.Faults {
			faults = append(faults, faultRunOf(run.Name, sr))
			continue
		}
		s := specOf(sr)
		wire := wireOf(sr)
		for _, c := range d.Clients {
			k := cellKey(d.Feature, c, d.Level)
			if ev[k] == nil {
				ev[k] = &cellEvidence{wire: apiVersions{}}
			}
			ev[k].specs = append(ev[k].specs, s)
			ev[k].wire.add(wire[c])
		}
	}
	return ev, faults
}

// suiteNodeFailure reports a failed node that is not a spec (BeforeSuite, AfterSuite, ...):
// the suite's own machinery failed, so its spec verdicts cannot be taken at face value.
func suiteNodeFailure(sr types.SpecReport) (string, bool) {
	if sr.LeafNodeType == types.NodeTypeIt || !sr.State.Is(types.SpecStateFailureStates) {
		return "", false
	}
	return fmt.Sprintf("%s: %s", sr.LeafNodeType, sr.Failure.Message), true
}

// executed reports whether sr is a spec that ran. A skipped or pending spec was not selected
// in this run: it says nothing about the target.
func executed(sr types.SpecReport) bool {
	return sr.LeafNodeType == types.NodeTypeIt && sr.State != types.SpecStateSkipped && sr.State != types.SpecStatePending
}

func specOf(sr types.SpecReport) Spec {
	s := Spec{Name: sr.FullText(), State: sr.State.String(), DurationMs: sr.RunTime.Milliseconds()}
	if sr.State.Is(types.SpecStateFailureStates) {
		s.Failure = sr.Failure.Message
		s.Location = sr.Failure.Location.String()
	}
	return s
}

// cellFor decides a cell's status. The declared rules come first: a cell that does not apply
// is N/A and one the target does not serve is NOT SERVED, whatever specs the report holds for
// it (the suite has none there; a stray one must not turn a declared gap into a pass).
func cellFor(cell Cell, rt rules.Target, ev *cellEvidence) Cell {
	if ok, why := rules.Applies(cell.Feature, cell.Client, cell.Level, rt); !ok {
		cell.Status, cell.Reason = NA, why
		return cell
	}
	if ns, why := rules.NotServed(cell.Feature, rt); ns {
		cell.Status, cell.Reason = NotServed, why
		return cell
	}
	if ev == nil {
		cell.Status = NotRun
		return cell
	}
	ss := ev.specs
	sort.Slice(ss, func(i, j int) bool { return ss[i].Name < ss[j].Name })
	cell.Specs, cell.Status, cell.WireVersions = ss, Pass, ev.wire.named()
	for _, s := range ss {
		if s.State != types.SpecStatePassed.String() {
			cell.Status = Fail
			if cell.Reason == "" {
				cell.Reason = firstLine(s.Name + ": " + s.Failure)
			}
		}
	}
	return cell
}

// measurements collects the numeric "*-ms" report entries of passed specs, by name.
func measurements(target string, rep types.Report) []Measurement {
	values := map[string][]float64{}
	for _, sr := range rep.SpecReports {
		if sr.State != types.SpecStatePassed {
			continue // a failed spec's timing measures the failure, not the target
		}
		for _, e := range sr.ReportEntries {
			if !strings.HasSuffix(e.Name, "-ms") {
				continue
			}
			if v, ok := e.Value.GetRawValue().(float64); ok {
				values[e.Name] = append(values[e.Name], v)
			}
		}
	}
	out := []Measurement{}
	for name, vs := range values {
		sort.Float64s(vs)
		med := vs[len(vs)/2]
		if len(vs)%2 == 0 {
			med = (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2
		}
		out = append(out, Measurement{Name: strings.TrimSuffix(name, "-ms"), Target: target, Count: len(vs),
			MinMs: vs[0], MedianMs: med, MaxMs: vs[len(vs)-1]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func firstLine(s string) string { return clip(s, 300) }

// clip keeps the first line of s, cut to at most max bytes (on a rune boundary).
func clip(s string, max int) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
