package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

var mark = map[string]string{Pass: "✅ PASS", Fail: "❌ FAIL", NA: "➖ N/A", NotRun: "· not run"}

// Markdown renders the matrix for a README or a PR summary.
func Markdown(w io.Writer, m *Matrix) error {
	var b strings.Builder
	b.WriteString("# Kafka client compatibility matrix\n\n")
	fmt.Fprintf(&b, "Generated %s from the conformance suite's Ginkgo report.\n\n", m.GeneratedAt.Format("2006-01-02 15:04 UTC"))
	b.WriteString("| target | suite | specs passed | specs failed | cells PASS | FAIL | N/A | not run | wall time |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, t := range m.Targets {
		suite := "passed"
		if !t.SuiteSuccess {
			suite = "failed"
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d | %d | %d | %.0fs |\n", t.Name, suite, t.SpecsPassed, t.SpecsFailed,
			t.CellCounts.Pass, t.CellCounts.Fail, t.CellCounts.NA, t.CellCounts.NotRun, t.DurationSec)
	}
	if len(m.Measurements) > 0 {
		measurementTable(&b, m)
	}
	if len(m.Targets) > 1 {
		sideBySide(&b, m)
	}
	for _, t := range m.Targets {
		fmt.Fprintf(&b, "\n## Target: %s\n", t.Name)
		if t.SetupFailure != "" {
			fmt.Fprintf(&b, "\n**Suite set-up failed:** %s\n", firstLine(t.SetupFailure))
		}
		b.WriteString("\n| client | PASS | FAIL | N/A | not run |\n|---|---|---|---|---|\n")
		for _, c := range m.Clients {
			n := t.ByClient[c]
			fmt.Fprintf(&b, "| %s | %d | %d | %d | %d |\n", c, n.Pass, n.Fail, n.NA, n.NotRun)
		}
		for _, f := range m.Features {
			fmt.Fprintf(&b, "\n### %s\n\n%s\n\n| client |", f.Name, f.Description)
			for _, l := range m.Levels {
				fmt.Fprintf(&b, " %s |", l)
			}
			b.WriteString("\n|---|" + strings.Repeat("---|", len(m.Levels)) + "\n")
			for _, c := range m.Clients {
				fmt.Fprintf(&b, "| %s |", c)
				for _, l := range m.Levels {
					cell := m.find(t.Name, f.Name, c, l)
					fmt.Fprintf(&b, " %s |", mark[cell.Status])
				}
				b.WriteString("\n")
			}
		}
		var notes []string
		for _, cell := range m.Cells {
			if cell.Target == t.Name && cell.Status == Fail {
				notes = append(notes, fmt.Sprintf("- ❌ %s / %s / %s: %s", cell.Feature, cell.Client, cell.Level, cell.Reason))
			}
		}
		reasons := map[string]bool{}
		for _, cell := range m.Cells {
			if cell.Target == t.Name && cell.Status == NA {
				k := fmt.Sprintf("- ➖ %s / %s: %s", cell.Feature, cell.Client, cell.Reason)
				if !reasons[k] {
					reasons[k] = true
					notes = append(notes, k)
				}
			}
		}
		if len(notes) > 0 {
			b.WriteString("\n#### Failures and N/A reasons\n\n" + strings.Join(notes, "\n") + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// measurementTable lists the timings the specs recorded, targets next to each other.
func measurementTable(b *strings.Builder, m *Matrix) {
	b.WriteString("\n## Measurements (this run)\n\n| measurement | target | specs | median | min | max |\n|---|---|---|---|---|---|\n")
	ms := append([]Measurement(nil), m.Measurements...)
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
	for _, x := range ms {
		fmt.Fprintf(b, "| %s | %s | %d | %.0f ms | %.0f ms | %.0f ms |\n", x.Name, x.Target, x.Count, x.MedianMs, x.MinMs, x.MaxMs)
	}
}

var short = map[string]string{Pass: "✅", Fail: "❌", NA: "➖", NotRun: "·"}

// sideBySide renders every target in one cell ("reference ✅ / kafka ✅") and flags cells where
// one target passed and another failed.
func sideBySide(b *strings.Builder, m *Matrix) {
	names := make([]string, len(m.Targets))
	for i, t := range m.Targets {
		names[i] = t.Name
	}
	fmt.Fprintf(b, "\n## Targets side by side (%s)\n\n", strings.Join(names, " / "))
	if len(m.Disagreements) == 0 {
		b.WriteString("The targets agree on every cell that ran on both.\n")
	} else {
		fmt.Fprintf(b, "**%d cell(s) disagree** (⚠): a spec passed on one target and failed on another.\n", len(m.Disagreements))
	}
	flagged := map[string]bool{}
	for _, d := range m.Disagreements {
		flagged[d.Feature+"|"+d.Client+"|"+d.Level] = true
	}
	for _, f := range m.Features {
		fmt.Fprintf(b, "\n### %s\n\n| client |", f.Name)
		for _, l := range m.Levels {
			fmt.Fprintf(b, " %s |", l)
		}
		b.WriteString("\n|---|" + strings.Repeat("---|", len(m.Levels)) + "\n")
		for _, c := range m.Clients {
			fmt.Fprintf(b, "| %s |", c)
			for _, l := range m.Levels {
				parts := make([]string, len(names))
				for i, n := range names {
					parts[i] = short[m.find(n, f.Name, c, l).Status]
				}
				cell := strings.Join(parts, " / ")
				if flagged[f.Name+"|"+c+"|"+l] {
					cell = "⚠ " + cell
				}
				fmt.Fprintf(b, " %s |", cell)
			}
			b.WriteString("\n")
		}
	}
}

func (m *Matrix) find(target, feature, client, level string) Cell {
	for _, c := range m.Cells {
		if c.Target == target && c.Feature == feature && c.Client == client && c.Level == level {
			return c
		}
	}
	return Cell{Status: NotRun}
}
