// Command matrix turns conformance suite reports into reports/: matrix.md, matrix.json (see
// reports/SCHEMA.md), index.html (a static, filterable page) and SVG badges per target and client.
//
//	matrix --report reference=conformance/out/reference.json [--report kafka=...] --out reports --levels "1.0 2.0 2.6"
//
// The mutants subcommand judges runs against the reference started with deliberate faults
// (reference/faults) and writes reports/mutants.md and mutants.json; it exits 1 when a mutant
// survived or was not run:
//
//	matrix mutants --mutant no-long-poll=conformance/out/mutant-no-long-poll.json [--mutant ...] --out reports
//
// The check-labels subcommand exits 2 when a Ginkgo label filter names a client, level or
// feature the matrix does not have (the scripts check theirs before running the suite):
//
//	matrix check-labels '(level:1.0 || level:2.6) && !nightly && feature:groups'
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kop-conformance/kop-conformance/matrix/dims"
	"github.com/kop-conformance/kop-conformance/matrix/report"
)

// namedPaths is a repeatable NAME=PATH flag (--report TARGET=PATH, --mutant NAME=PATH).
type namedPaths struct {
	what  string // what NAME stands for, for the error message
	pairs [][2]string
}

func (n *namedPaths) String() string { return fmt.Sprint(n.pairs) }
func (n *namedPaths) Set(v string) error {
	name, path, ok := strings.Cut(v, "=")
	if !ok || name == "" || path == "" {
		return fmt.Errorf("want %s=PATH, got %q", n.what, v)
	}
	n.pairs = append(n.pairs, [2]string{name, path})
	return nil
}

func main() {
	// A subcommand, recognised before the flags so the plain form keeps its flags unchanged.
	if len(os.Args) > 1 && os.Args[1] == "mutants" {
		os.Exit(mutants(os.Args[2:], os.Stdout, os.Stderr))
	}
	if len(os.Args) > 1 && os.Args[1] == "check-labels" {
		os.Exit(checkLabels(os.Args[2:], os.Stderr))
	}
	given := namedPaths{what: "TARGET"}
	flag.Var(&given, "report", "TARGET=PATH of a Ginkgo JSON report (repeatable)")
	out := flag.String("out", "reports", "directory for matrix.md, matrix.json, index.html and badges/")
	levels := flag.String("levels", "all", `levels run, space or comma separated, or "all"`)
	flag.Parse()
	var inputs []report.Input
	for _, p := range given.pairs {
		inputs = append(inputs, report.Input{Target: p[0], Path: p[1]})
	}
	if err := run(inputs, *out, *levels); err != nil {
		fmt.Fprintln(os.Stderr, "matrix:", err)
		os.Exit(1)
	}
}

func run(inputs []report.Input, out, levelArg string) error {
	if len(inputs) == 0 {
		return fmt.Errorf("no --report given")
	}
	known := dims.Levels()
	levels := known
	if levelArg != "all" {
		levels = nil
		for _, l := range strings.FieldsFunc(levelArg, func(r rune) bool { return r == ' ' || r == ',' }) {
			found := false
			for _, k := range known {
				found = found || k == l
			}
			if !found {
				return fmt.Errorf("unknown level %q (known: %s)", l, strings.Join(known, ", "))
			}
			levels = append(levels, l)
		}
	}
	m, err := report.Build(inputs, levels, time.Now())
	if err != nil {
		return err
	}
	write := func(name string, render func(io.Writer) error) error { return writeFile(out, name, render) }
	if err := write("matrix.json", writeJSON(m)); err != nil {
		return err
	}
	if err := write("matrix.md", func(w io.Writer) error { return report.Markdown(w, m) }); err != nil {
		return err
	}
	// The benchmark's page, when make bench wrote one here, is linked from the matrix's.
	var links []report.Link
	if _, err := os.Stat(filepath.Join(out, "bench.html")); err == nil {
		links = append(links, report.Link{Href: "bench.html", Text: "Benchmark: the gateway vs pulsar-client-go vs Apache Kafka"})
	}
	if err := write("index.html", func(w io.Writer) error { return report.HTML(w, m, links...) }); err != nil {
		return err
	}
	for _, t := range m.Targets {
		if err := write("badges/"+t.Name+".svg", func(w io.Writer) error { return report.Badge(w, "kop "+t.Name, t.CellCounts) }); err != nil {
			return err
		}
		for _, c := range m.Clients {
			if err := write("badges/"+t.Name+"-"+c+".svg", func(w io.Writer) error { return report.Badge(w, c+" on "+t.Name, t.ByClient[c]) }); err != nil {
				return err
			}
		}
	}
	for _, t := range m.Targets {
		n := t.CellCounts
		fmt.Printf("==> [matrix] %s: specs %d passed, %d failed; cells PASS %d, FAIL %d, N/A %d, not run %d, not served %d\n", t.Name,
			t.SpecsPassed, t.SpecsFailed, n.Pass, n.Fail, n.NA, n.NotRun, n.NotServed)
	}
	fmt.Printf("==> [matrix] wrote matrix.md, matrix.json, index.html and badges/ in %s\n", out)
	printFailures(os.Stdout, m, 20)
	for _, t := range m.Targets {
		// The plain closing line CI readers look for.
		fmt.Printf("%s: %d passed, %d failed\n", t.Name, t.SpecsPassed, t.SpecsFailed)
	}
	return nil
}

// printFailures names the failed specs (at most limit) next to the closing lines, so a CI log
// that keeps only its tail still says what failed and where.
func printFailures(w io.Writer, m *report.Matrix, limit int) {
	n := 0
	for _, c := range m.Cells {
		for _, s := range c.Specs {
			if s.State == "passed" || s.State == "skipped" || s.State == "pending" {
				continue
			}
			n++
			if n > limit {
				continue
			}
			msg, _, _ := strings.Cut(strings.TrimSpace(s.Failure), "\n")
			if len(msg) > 300 {
				msg = msg[:300] + "..."
			}
			fmt.Fprintf(w, "==> [matrix] FAILED %s %s/%s/%s: %s (%s): %s\n", c.Target, c.Feature, c.Client, c.Level, s.Name, s.Location, msg)
		}
	}
	if n > limit {
		fmt.Fprintf(w, "==> [matrix] ... and %d more failed specs (see matrix.md)\n", n-limit)
	}
	// A fault run is no cell: name it with what its checker found.
	for _, f := range m.Faults {
		if f.Status != report.Fail {
			continue
		}
		fmt.Fprintf(w, "==> [matrix] FAILED fault run %s (%s): %s\n", f.Target, f.Run, f.Failure)
		if f.Error != "" {
			fmt.Fprintf(w, "==> [matrix]   cut short: %s\n", f.Error)
		}
		if f.Summary != nil {
			fmt.Fprintf(w, "==> [matrix]   checker: %+v\n", *f.Summary)
		}
		for i, v := range f.Violations {
			if i == 5 {
				fmt.Fprintf(w, "==> [matrix]   ... %d more (see matrix.md)\n", len(f.Violations)-i)
				break
			}
			fmt.Fprintf(w, "==> [matrix]   %s\n", v)
		}
	}
}

// writeFile renders dir/name, creating the directories it needs.
func writeFile(dir, name string, render func(io.Writer) error) error {
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := render(f); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}

// writeJSON renders v as indented JSON.
func writeJSON(v any) func(io.Writer) error {
	return func(w io.Writer) error {
		js, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(js, '\n'))
		return err
	}
}
