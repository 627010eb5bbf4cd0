package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/kop-conformance/kop-conformance/reference/faults"
)

// MutantsSchemaVersion changes when the shape of mutants.json changes incompatibly.
const MutantsSchemaVersion = 1

// Mutant verdicts.
const (
	Killed   = "killed"   // at least one spec went red: the suite notices the fault
	Survived = "SURVIVED" // specs ran and all passed: a hole in the suite
	// Unjudged mutants have no verdict: no report, no executed spec, or the suite's own
	// machinery failed, so a red or green spec says nothing about the fault.
	Unjudged = "not run"
)

// MutantInput is the suite's Ginkgo JSON report of a run against the reference started with
// one fault (faults.Fault.Name).
type MutantInput struct {
	Fault string
	Path  string
}

// RedSpec is one spec that went red against a mutant.
type RedSpec struct {
	Name    string `json:"name"`
	State   string `json:"state"`             // failed, panicked, timedout, interrupted, aborted
	Failure string `json:"failure,omitempty"` // first line of the message, clipped
}

// Mutant is one fault's result.
type Mutant struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Features    []string `json:"features"` // expected to catch it
	Report      string   `json:"report,omitempty"`
	SpecsRun    int      `json:"specs_run"`
	SpecsRed    int      `json:"specs_red"`
	Verdict     string   `json:"verdict"`
	// NotRunReason says why a mutant has no verdict (not given, report unreadable, no
	// executed spec, the suite's set-up failed).
	NotRunReason string    `json:"not_run_reason,omitempty"`
	RedSpecs     []RedSpec `json:"red_specs,omitempty"`
}

// Mutants is reports/mutants.json (see reports/SCHEMA.md).
type Mutants struct {
	SchemaVersion int       `json:"schema_version"`
	GeneratedAt   time.Time `json:"generated_at"`
	Killed        int       `json:"killed"`
	Survived      int       `json:"survived"`
	NotRun        int       `json:"not_run"`
	Mutants       []Mutant  `json:"mutants"` // every fault, in faults.All order
}

// BuildMutants judges every fault of faults.All from the reports given for it; a fault without
// one is listed as not run, so a fault added to the reference cannot go unexercised silently.
// An unreadable report makes its mutant not run rather than failing the whole report.
func BuildMutants(inputs []MutantInput, now time.Time) (*Mutants, error) {
	given := map[string]string{}
	for _, in := range inputs {
		if _, ok := faults.Lookup(in.Fault); !ok {
			return nil, fmt.Errorf("unknown fault %q", in.Fault)
		}
		if _, dup := given[in.Fault]; dup {
			return nil, fmt.Errorf("fault %q given twice", in.Fault)
		}
		given[in.Fault] = in.Path
	}
	r := &Mutants{SchemaVersion: MutantsSchemaVersion, GeneratedAt: now.UTC(), Mutants: []Mutant{}}
	for _, f := range faults.All {
		mu := Mutant{Name: f.Name, Description: f.Description, Features: f.Features}
		if path, ok := given[f.Name]; ok {
			mu.Report = path
			judge(&mu, path)
		} else {
			mu.Verdict, mu.NotRunReason = Unjudged, "no report given for it"
		}
		switch mu.Verdict {
		case Killed:
			r.Killed++
		case Survived:
			r.Survived++
		default:
			r.NotRun++
		}
		r.Mutants = append(r.Mutants, mu)
	}
	return r, nil
}

// judge reads a mutant's report: its executed specs, the red ones, and the verdict.
func judge(mu *Mutant, path string) {
	rep, err := readReport(path)
	if err != nil {
		mu.Verdict, mu.NotRunReason = Unjudged, err.Error()
		return
	}
	setup := ""
	for _, sr := range rep.SpecReports {
		if msg, failed := suiteNodeFailure(sr); failed {
			setup = msg
		}
		if !executed(sr) {
			continue
		}
		mu.SpecsRun++
		if sr.State.Is(types.SpecStateFailureStates) {
			mu.SpecsRed++
			mu.RedSpecs = append(mu.RedSpecs, RedSpec{Name: sr.FullText(), State: sr.State.String(), Failure: clip(sr.Failure.Message, 200)})
		}
	}
	switch {
	case setup != "":
		mu.Verdict, mu.NotRunReason = Unjudged, "suite set-up failed: "+firstLine(setup)
	case mu.SpecsRun == 0:
		mu.Verdict, mu.NotRunReason = Unjudged, "the report has no executed spec"
	case mu.SpecsRed > 0:
		mu.Verdict = Killed
	default:
		mu.Verdict = Survived
	}
}

// Unsafe lists the mutants the suite was not shown to catch: survived or not run.
func (r *Mutants) Unsafe() []Mutant {
	var out []Mutant
	for _, mu := range r.Mutants {
		if mu.Verdict != Killed {
			out = append(out, mu)
		}
	}
	return out
}

// MutantsMarkdown renders reports/mutants.md: a summary table, then per mutant the specs that
// caught it or why it has no verdict.
func MutantsMarkdown(w io.Writer, r *Mutants) error {
	var b strings.Builder
	b.WriteString("# Mutants: does the suite notice a broken reference?\n\n")
	fmt.Fprintf(&b, "Generated %s. Each mutant is the reference started with one deliberate fault "+
		"(`--fault`, see reference/faults), run against the specs of the features expected to catch it. "+
		"**killed**: at least one spec went red. **SURVIVED**: specs ran and none went red, a hole in the suite. "+
		"**not run**: no verdict (no report, no executed spec, or the suite's set-up failed).\n\n",
		r.GeneratedAt.Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "%d killed, %d survived, %d not run, of %d mutants.\n\n", r.Killed, r.Survived, r.NotRun, len(r.Mutants))
	b.WriteString("| mutant | breaks | caught by features | specs run | red | verdict |\n|---|---|---|---|---|---|\n")
	for _, mu := range r.Mutants {
		verdict := mu.Verdict
		if verdict == Survived {
			verdict = "**" + verdict + "**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %d | %s |\n", mu.Name, tableText(mu.Description),
			strings.Join(mu.Features, ", "), mu.SpecsRun, mu.SpecsRed, verdict)
	}
	b.WriteString("\n## Details\n")
	for _, mu := range r.Mutants {
		fmt.Fprintf(&b, "\n### %s: %s\n\n", mu.Name, mu.Verdict)
		switch mu.Verdict {
		case Killed:
			for _, s := range mu.RedSpecs {
				fmt.Fprintf(&b, "- %s (%s): %s\n", s.Name, s.State, code(s.Failure))
			}
		case Survived:
			fmt.Fprintf(&b, "All %d spec(s) passed against the fault.\n", mu.SpecsRun)
		default:
			fmt.Fprintf(&b, "%s\n", mu.NotRunReason)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// tableText keeps a text from splitting a Markdown table row.
func tableText(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// code writes s as a Markdown code span, so a failure like "Expected <int>: 5" is shown as
// written instead of being read as HTML or emphasis.
func code(s string) string {
	if s == "" {
		return "(no message)"
	}
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	return fence + " " + s + " " + fence
}
