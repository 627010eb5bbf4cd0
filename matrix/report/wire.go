package report

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/onsi/ginkgo/v2/types"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/conformance/evidence"
)

// apiVersions maps an API key to the versions sent of it (unsorted, may repeat until named).
type apiVersions map[int16][]int16

func (a apiVersions) add(b map[int16][]int16) {
	for k, vs := range b {
		a[k] = append(a[k], vs...)
	}
}

// named returns the versions by API name, ascending and distinct; nil when nothing was sent,
// so a cell without evidence has no wire_versions field.
func (a apiVersions) named() map[string][]int16 {
	if len(a) == 0 {
		return nil
	}
	out := map[string][]int16{}
	for k, vs := range a {
		vs = slices.Clone(vs)
		slices.Sort(vs)
		out[apiName(k)] = slices.Compact(vs)
	}
	return out
}

// apiName is kmsg's name for a key. Keys kmsg does not know keep their number, so two of them
// are not merged under "Unknown".
func apiName(key int16) string {
	if n := kmsg.NameForKey(key); n != "Unknown" {
		return n
	}
	return fmt.Sprintf("key %d", key)
}

// wireOf reads a spec's wire-versions entries (evidence.Wire as JSON): client -> API key ->
// versions. Ginkgo keeps an entry's value as JSON text (AsJSON); decoded generically it would
// be a map of strings, so it is decoded into the suite's own type.
func wireOf(sr types.SpecReport) map[string]apiVersions {
	out := map[string]apiVersions{}
	for _, e := range sr.ReportEntries {
		if e.Name != evidence.WireEntry {
			continue
		}
		var w evidence.Wire
		if err := json.Unmarshal([]byte(e.Value.AsJSON), &w); err != nil {
			continue // unreadable evidence loses the wire column, never the spec's verdict
		}
		for c, apis := range w.Clients {
			if out[c] == nil {
				out[c] = apiVersions{}
			}
			out[c].add(apis)
		}
	}
	return out
}
