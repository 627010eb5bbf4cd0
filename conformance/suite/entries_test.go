package suite

import (
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/kop-conformance/kop-conformance/matrix/dims"
)

// entries turns a feature's applicable cells into table entries labelled with the matrix
// dimensions, each with its own timeout.
func entries(feature string) []TableEntry {
	var out []TableEntry
	for _, c := range cells(feature) {
		out = append(out, Entry(c.String(), c, c.labels(), SpecTimeout(90*time.Second)))
	}
	return out
}

// variantEntries is entries with one entry per variant of each cell (an assignor, say); the
// variant is the spec's second parameter. Variants named in nightly wait on purpose and are
// labelled so (the PR gate leaves them out).
func variantEntries(feature string, variants func(c cell) []string, nightly ...string) []TableEntry {
	var out []TableEntry
	for _, c := range cells(feature) {
		for _, v := range variants(c) {
			labels := c.labels()
			if slices.Contains(nightly, v) {
				labels = append(labels, nightlyLabel...)
			}
			out = append(out, Entry(c.String()+" "+v, c, v, labels, SpecTimeout(90*time.Second)))
		}
	}
	return out
}

// nightlyLabel marks specs that wait on purpose (timeouts, long polls): the PR gate leaves them
// out, the full matrix and the mutation check run them.
var nightlyLabel = Label(dims.Nightly)

// franzEntries is entries limited to franz-go's cells, for specs that send raw requests with
// franz-go's kmsg.
func franzEntries(feature string) []TableEntry {
	var out []TableEntry
	for _, c := range cells(feature) {
		if c.kind.Name == dims.FranzGo {
			out = append(out, Entry(c.String()+" raw", c, c.labels(), SpecTimeout(90*time.Second)))
		}
	}
	return out
}
