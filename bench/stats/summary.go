package stats

import (
	"math"
	"slices"
)

// Summary is a figure over a workload's rounds on one path: the median is what the report
// compares, min and max show how far the rounds disagree.
type Summary struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	N      int     `json:"n"`
	// SpreadPct is (max - min) / median in percent: how much one round could mislead.
	SpreadPct float64 `json:"spread_pct"`
}

// Summarise is the summary of the finite values of xs; nil when there are none.
func Summarise(xs []float64) *Summary {
	var v []float64
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return nil
	}
	slices.Sort(v)
	s := &Summary{Median: Median(v), Min: v[0], Max: v[len(v)-1], N: len(v)}
	if s.Median != 0 {
		s.SpreadPct = (s.Max - s.Min) / math.Abs(s.Median) * 100
	}
	return s
}

// Median of sorted values: the middle one, or the mean of the two middle ones.
func Median(sorted []float64) float64 {
	n := len(sorted)
	switch {
	case n == 0:
		return math.NaN()
	case n%2 == 1:
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// Ratio is a / b, or nil when either is missing or b is 0: a ratio is only shown when both
// sides were measured in the run.
func Ratio(a, b *Summary) *float64 {
	if a == nil || b == nil || b.Median == 0 {
		return nil
	}
	r := a.Median / b.Median
	return &r
}
