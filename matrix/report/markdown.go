package report

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

var mark = map[string]string{Pass: "✅ PASS", Fail: "❌ FAIL", NA: "➖ N/A", NotRun: "· not run", NotServed: "⛔ not served"}

// Markdown renders the matrix for a README or a PR summary.
func Markdown(w io.Writer, m *Matrix) error {
	var b strings.Builder
	b.WriteString("# Kafka client compatibility matrix\n\n")
	fmt.Fprintf(&b, "Generated %s from the conformance suite's Ginkgo report.\n\n", m.GeneratedAt.Format("2006-01-02 15:04 UTC"))
	b.WriteString("| target | suite | specs passed | specs failed | cells PASS | FAIL | N/A | not run | not served | wall time |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, t := range m.Targets {
		suite := "passed"
		if !t.SuiteSuccess {
			suite = "failed"
		}
		n := t.CellCounts
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d | %d | %d | %d | %.0fs |\n", t.Name, suite, t.SpecsPassed, t.SpecsFailed,
			n.Pass, n.Fail, n.NA, n.NotRun, n.NotServed, t.DurationSec)
	}
	if len(m.Measurements) > 0 {
		measurementTable(&b, m)
	}
	if len(m.Targets) > 1 {
		sideBySide(&b, m)
	}
	wireTable(&b, m)
	faultsSection(&b, m)
	for _, t := range m.Targets {
		targetSection(&b, m, t)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// targetSection renders one target: its counts per client, a client x level table per
// feature, and the reasons behind the cells that are not green.
func targetSection(b *strings.Builder, m *Matrix, t TargetRun) {
	fmt.Fprintf(b, "\n## Target: %s\n", t.Name)
	if t.SetupFailure != "" {
		fmt.Fprintf(b, "\n**Suite set-up failed:** %s\n", firstLine(t.SetupFailure))
	}
	b.WriteString("\n| client | PASS | FAIL | N/A | not run | not served |\n|---|---|---|---|---|---|\n")
	for _, c := range m.Clients {
		n := t.ByClient[c]
		fmt.Fprintf(b, "| %s | %d | %d | %d | %d | %d |\n", c, n.Pass, n.Fail, n.NA, n.NotRun, n.NotServed)
	}
	for _, f := range m.Features {
		fmt.Fprintf(b, "\n### %s\n\n%s\n\n", f.Name, f.Description)
		clientLevelTable(b, m, func(c, l string) string { return mark[m.find(t.Name, f.Name, c, l).Status] })
	}
	if notes := cellNotes(m, t.Name); len(notes) > 0 {
		b.WriteString("\n#### Failures, N/A and not-served reasons\n\n" + strings.Join(notes, "\n") + "\n")
	}
}

// clientLevelTable writes a table with a row per client and a column per level.
func clientLevelTable(b *strings.Builder, m *Matrix, cell func(client, level string) string) {
	b.WriteString("| client |")
	for _, l := range m.Levels {
		fmt.Fprintf(b, " %s |", l)
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(m.Levels)) + "\n")
	for _, c := range m.Clients {
		fmt.Fprintf(b, "| %s |", c)
		for _, l := range m.Levels {
			fmt.Fprintf(b, " %s |", cell(c, l))
		}
		b.WriteString("\n")
	}
}

// cellNotes explains a target's cells that are not green: every failure, then each declared
// reason once (not served per feature, N/A per feature and client; they repeat over levels).
func cellNotes(m *Matrix, target string) []string {
	var fails, notServed, na []string
	seen := map[string]bool{}
	once := func(list *[]string, note string) {
		if !seen[note] {
			seen[note] = true
			*list = append(*list, note)
		}
	}
	for _, cell := range m.Cells {
		if cell.Target != target {
			continue
		}
		switch cell.Status {
		case Fail:
			fails = append(fails, fmt.Sprintf("- ❌ %s / %s / %s: %s", cell.Feature, cell.Client, cell.Level, cell.Reason))
		case NotServed:
			once(&notServed, fmt.Sprintf("- ⛔ %s: %s", cell.Feature, cell.Reason))
		case NA:
			once(&na, fmt.Sprintf("- ➖ %s / %s: %s", cell.Feature, cell.Client, cell.Reason))
		}
	}
	return append(append(fails, notServed...), na...)
}

// wireColumns are the APIs of the wire versions table: requests most clients send, whose
// versions move with the protocol level.
var wireColumns = []kmsg.Key{kmsg.Produce, kmsg.Fetch, kmsg.ListOffsets, kmsg.Metadata, kmsg.JoinGroup, kmsg.OffsetCommit}

// wireTable shows, per target, the highest version of each API a client sent at each level:
// the evidence that a column labelled 2.1 really spoke 2.1.
func wireTable(b *strings.Builder, m *Matrix) {
	b.WriteString("\n## Wire versions\n\nThe highest version of each API the client actually sent at that level, " +
		"recorded on the wire (server side on the reference, in the level proxy for Kafka); – when it sent none, " +
		"and a client and level with no spec run on the target have no row.\n")
	if !slices.ContainsFunc(m.Cells, func(c Cell) bool { return len(c.WireVersions) > 0 }) {
		b.WriteString("\nNo spec of this run recorded wire versions.\n")
		return
	}
	for _, t := range m.Targets {
		fmt.Fprintf(b, "\n### %s\n\n| client | level |", t.Name)
		for _, k := range wireColumns {
			fmt.Fprintf(b, " %s |", k.Name())
		}
		b.WriteString("\n|---|---|" + strings.Repeat("---|", len(wireColumns)) + "\n")
		high := highestSent(m, t.Name)
		for _, c := range m.Clients {
			for _, l := range m.Levels {
				sent, ran := high[cellKey("", c, l)]
				if !ran {
					continue
				}
				fmt.Fprintf(b, "| %s | %s |", c, l)
				for _, k := range wireColumns {
					if v, ok := sent[k.Name()]; ok {
						fmt.Fprintf(b, " v%d |", v)
					} else {
						b.WriteString(" – |")
					}
				}
				b.WriteString("\n")
			}
		}
	}
}

// highestSent is the highest version of each API sent over a target's cells, by client and
// level (cellKey with no feature) and API name. Every client and level with a cell that ran
// has an entry, empty when its specs recorded nothing.
func highestSent(m *Matrix, target string) map[string]map[string]int16 {
	out := map[string]map[string]int16{}
	for _, cell := range m.Cells {
		if cell.Target != target || (cell.Status != Pass && cell.Status != Fail) {
			continue
		}
		k := cellKey("", cell.Client, cell.Level)
		if out[k] == nil {
			out[k] = map[string]int16{}
		}
		for api, vs := range cell.WireVersions {
			if v, seen := out[k][api]; !seen || vs[len(vs)-1] > v {
				out[k][api] = vs[len(vs)-1] // versions are ascending
			}
		}
	}
	return out
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

var short = map[string]string{Pass: "✅", Fail: "❌", NA: "➖", NotRun: "·", NotServed: "⛔"}

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
		flagged[cellKey(d.Feature, d.Client, d.Level)] = true
	}
	for _, f := range m.Features {
		fmt.Fprintf(b, "\n### %s\n\n", f.Name)
		clientLevelTable(b, m, func(c, l string) string {
			parts := make([]string, len(names))
			for i, n := range names {
				parts[i] = short[m.find(n, f.Name, c, l).Status]
			}
			cell := strings.Join(parts, " / ")
			if flagged[cellKey(f.Name, c, l)] {
				cell = "⚠ " + cell
			}
			return cell
		})
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
