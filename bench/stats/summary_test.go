package stats

import (
	"math"
	"testing"
)

func TestSummarise(t *testing.T) {
	for _, c := range []struct {
		in                  []float64
		median, min, max, s float64
		n                   int
	}{
		{[]float64{30, 10, 20}, 20, 10, 30, 100, 3},
		{[]float64{4, 1, 3, 2}, 2.5, 1, 4, 120, 4},
		{[]float64{5}, 5, 5, 5, 0, 1},
		{[]float64{7, math.NaN(), math.Inf(1), 9}, 8, 7, 9, 25, 2},
	} {
		s := Summarise(c.in)
		if s.Median != c.median || s.Min != c.min || s.Max != c.max || s.N != c.n || math.Abs(s.SpreadPct-c.s) > 1e-9 {
			t.Errorf("Summarise(%v) = %+v", c.in, s)
		}
	}
	if Summarise(nil) != nil || Summarise([]float64{math.NaN()}) != nil {
		t.Error("no finite values must summarise to nil")
	}
}

func TestRatio(t *testing.T) {
	if r := Ratio(&Summary{Median: 80}, &Summary{Median: 100}); r == nil || *r != 0.8 {
		t.Errorf("80/100 = %v", r)
	}
	if Ratio(nil, &Summary{Median: 1}) != nil || Ratio(&Summary{Median: 1}, &Summary{}) != nil {
		t.Error("a ratio needs both sides and a non-zero divisor")
	}
}
