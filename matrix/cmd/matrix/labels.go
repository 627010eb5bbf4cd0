package main

import (
	"fmt"
	"io"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/kop-conformance/kop-conformance/conformance/rules"
	"github.com/kop-conformance/kop-conformance/matrix/dims"
)

// checkLabels runs `matrix check-labels FILTER` and returns the exit code: 0 when FILTER is a
// Ginkgo label filter whose every label is one of the suite's (a known client, level or
// feature, or nightly), 2 with the reasons otherwise. A mistyped label would select no spec
// and leave its cells "not run" without a word; the scripts check their filter first.
func checkLabels(args []string, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "matrix check-labels: want one argument, a Ginkgo label filter")
		return 2
	}
	if _, err := types.ParseLabelFilter(args[0]); err != nil {
		fmt.Fprintln(stderr, "matrix check-labels:", err)
		return 2
	}
	isFeature := func(name string) bool { _, ok := rules.Lookup(name); return ok }
	if err := dims.CheckFilter(args[0], isFeature); err != nil {
		fmt.Fprintf(stderr, "matrix check-labels: %q: %v\n", args[0], err)
		return 2
	}
	return 0
}
