package main

import (
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/kop-conformance/kop-conformance/matrix/report"
)

// mutants runs `matrix mutants` and returns the exit code: 2 for a usage error, 1 when the
// report could not be written or a mutant survived or was not run (after writing it), else 0.
func mutants(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("matrix mutants", flag.ContinueOnError)
	fs.SetOutput(stderr)
	given := namedPaths{what: "NAME"}
	fs.Var(&given, "mutant", "NAME=PATH: a fault of reference/faults and the Ginkgo JSON report of the run against it (repeatable)")
	out := fs.String("out", "reports", "directory for mutants.md and mutants.json")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || len(given.pairs) == 0 {
		fmt.Fprintln(stderr, "matrix mutants: want --mutant NAME=PATH (repeatable) and no other arguments")
		return 2
	}
	var inputs []report.MutantInput
	for _, p := range given.pairs {
		inputs = append(inputs, report.MutantInput{Fault: p[0], Path: p[1]})
	}
	r, err := report.BuildMutants(inputs, time.Now())
	if err != nil {
		fmt.Fprintln(stderr, "matrix mutants:", err)
		return 2
	}
	if err := writeFile(*out, "mutants.json", writeJSON(r)); err != nil {
		fmt.Fprintln(stderr, "matrix mutants:", err)
		return 1
	}
	if err := writeFile(*out, "mutants.md", func(w io.Writer) error { return report.MutantsMarkdown(w, r) }); err != nil {
		fmt.Fprintln(stderr, "matrix mutants:", err)
		return 1
	}
	fmt.Fprintf(stdout, "==> [mutants] %d killed, %d survived, %d not run; wrote mutants.md and mutants.json in %s\n",
		r.Killed, r.Survived, r.NotRun, *out)
	unsafe := r.Unsafe()
	for _, mu := range unsafe {
		why := mu.NotRunReason
		if mu.Verdict == report.Survived {
			why = fmt.Sprintf("%d spec(s) of %v ran, none went red", mu.SpecsRun, mu.Features)
		}
		fmt.Fprintf(stderr, "mutant %s %s: %s\n", mu.Name, mu.Verdict, why)
	}
	if len(unsafe) > 0 {
		return 1
	}
	return 0
}
