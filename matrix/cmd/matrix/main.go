// Command matrix turns conformance suite reports into reports/: matrix.md, matrix.json (see
// reports/SCHEMA.md), index.html (a static, filterable page) and SVG badges per target and client.
//
//	matrix --report reference=conformance/out/reference.json [--report kafka=...] --out reports --levels "1.0 2.0 2.6"
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

	"github.com/kop-conformance/kop-conformance/conformance/rules"
	"github.com/kop-conformance/kop-conformance/matrix/report"
)

type reportFlags []report.Input

func (r *reportFlags) String() string { return fmt.Sprint(*r) }
func (r *reportFlags) Set(v string) error {
	target, path, ok := strings.Cut(v, "=")
	if !ok || target == "" || path == "" {
		return fmt.Errorf("want TARGET=PATH, got %q", v)
	}
	*r = append(*r, report.Input{Target: target, Path: path})
	return nil
}

func main() {
	var inputs reportFlags
	flag.Var(&inputs, "report", "TARGET=PATH of a Ginkgo JSON report (repeatable)")
	out := flag.String("out", "reports", "directory for matrix.md, matrix.json, index.html and badges/")
	levels := flag.String("levels", "all", `levels run, space or comma separated, or "all"`)
	flag.Parse()
	if err := run(inputs, *out, *levels); err != nil {
		fmt.Fprintln(os.Stderr, "matrix:", err)
		os.Exit(1)
	}
}

func run(inputs []report.Input, out, levelArg string) error {
	if len(inputs) == 0 {
		return fmt.Errorf("no --report given")
	}
	known := rules.Levels()
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
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	write := func(name string, render func(io.Writer) error) error {
		path := filepath.Join(out, name)
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
	if err := write("matrix.json", func(w io.Writer) error { _, err := w.Write(append(js, '\n')); return err }); err != nil {
		return err
	}
	if err := write("matrix.md", func(w io.Writer) error { return report.Markdown(w, m) }); err != nil {
		return err
	}
	if err := write("index.html", func(w io.Writer) error { return report.HTML(w, m) }); err != nil {
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
		fmt.Printf("==> [matrix] %s: specs %d passed, %d failed; cells PASS %d, FAIL %d, N/A %d, not run %d\n", t.Name,
			t.SpecsPassed, t.SpecsFailed, t.CellCounts.Pass, t.CellCounts.Fail, t.CellCounts.NA, t.CellCounts.NotRun)
	}
	fmt.Printf("==> [matrix] wrote matrix.md, matrix.json, index.html and badges/ in %s\n", out)
	for _, t := range m.Targets {
		// The plain closing line CI readers look for.
		fmt.Printf("%s: %d passed, %d failed\n", t.Name, t.SpecsPassed, t.SpecsFailed)
	}
	return nil
}
