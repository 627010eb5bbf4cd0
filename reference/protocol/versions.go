package protocol

import (
	"fmt"
	"sort"

	"github.com/kop-conformance/kop-conformance/matrix/dims"
)

// Range is an inclusive range of versions of one API.
type Range struct{ Min, Max int16 }

// Levels maps the Kafka protocol levels the project covers (matrix/dims) to franz-go's
// per-release tables. A listener capped to a level advertises only what that release's broker
// advertised.
var Levels = dims.VersionTables()

// LevelNames returns the level names in ascending order.
func LevelNames() []string { return dims.Levels() }

// Table is the set of API versions one listener advertises and accepts.
type Table map[int16]Range

// Cap returns the versions served by the implementation (impl) limited to what the named level
// advertises. An empty level means no cap beyond impl.
func Cap(impl Table, level string) (Table, error) {
	if level == "" {
		return impl, nil
	}
	f, ok := Levels[level]
	if !ok {
		return nil, fmt.Errorf("unknown protocol level %q (known: %v)", level, LevelNames())
	}
	lv := f()
	out := Table{}
	for k, r := range impl {
		max, ok := lv.LookupMaxKeyVersion(k)
		if !ok || max < r.Min {
			continue
		}
		if max > r.Max {
			max = r.Max
		}
		out[k] = Range{Min: r.Min, Max: max}
	}
	return out, nil
}

// Serves reports whether version v of key k is in the table.
func (t Table) Serves(k, v int16) bool {
	r, ok := t[k]
	return ok && v >= r.Min && v <= r.Max
}

// Keys returns the table's keys in ascending order.
func (t Table) Keys() []int16 {
	out := make([]int16, 0, len(t))
	for k := range t {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// CompareLevels compares two protocol levels ("2.6") by their numbers: -1, 0 or 1.
func CompareLevels(a, b string) int { return dims.CompareLevels(a, b) }
