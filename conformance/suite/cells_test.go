package suite

import (
	"testing"

	"github.com/kop-conformance/kop-conformance/conformance/rules"
	"github.com/kop-conformance/kop-conformance/matrix/dims"
)

// TestCellsAreDeclared checks the spec tree's cells without running a spec (no target needed):
// every feature's cells carry labels the matrix tool reads back into the same cell, and a
// feature the rules do not declare stops the suite instead of selecting nothing.
func TestCellsAreDeclared(t *testing.T) {
	for _, f := range rules.Features {
		for _, c := range cells(f.Name) {
			got := dims.ParseLabels(c.labels())
			if !got.Placed() || got.Feature != f.Name || got.Level != c.level || len(got.Clients) != 1 || got.Clients[0] != c.kind.Name {
				t.Errorf("cell %s of %s: labels %v read as %+v", c, f.Name, c.labels(), got)
			}
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("cells of an undeclared feature must stop the suite")
		}
	}()
	cells("grops")
}
