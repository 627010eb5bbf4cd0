package load

import (
	"sync"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var hundred []time.Duration
	for i := 1; i <= 100; i++ {
		hundred = append(hundred, time.Duration(i)*time.Millisecond)
	}
	cases := []struct {
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{nil, 99, 0},
		{[]time.Duration{7}, 50, 7},
		{[]time.Duration{7}, 99, 7},
		{[]time.Duration{1, 2}, 50, 1},
		{[]time.Duration{1, 2}, 99, 2},
		{hundred, 50, 50 * time.Millisecond},
		{hundred, 99, 99 * time.Millisecond},
		{hundred, 100, 100 * time.Millisecond},
		{hundred, 0.001, time.Millisecond},
	}
	for _, c := range cases {
		if got := Percentile(c.sorted, c.p); got != c.want {
			t.Errorf("p%v of %d values: %v, want %v", c.p, len(c.sorted), got, c.want)
		}
	}
}

func TestLatenciesSummary(t *testing.T) {
	var l Latencies
	if s := l.Summary(); s != (Summary{}) {
		t.Fatalf("empty: %+v", s)
	}
	var wg sync.WaitGroup
	for i := 1000; i >= 1; i-- { // any order, from many goroutines
		wg.Add(1)
		go func() { defer wg.Done(); l.Add(time.Duration(i) * time.Millisecond) }()
	}
	wg.Wait()
	want := Summary{Count: 1000, P50: 500, P99: 990, Max: 1000}
	if s := l.Summary(); s != want {
		t.Fatalf("summary %+v, want %+v", s, want)
	}
	l.Add(1500 * time.Microsecond)
	if s := l.Summary(); s.Count != 1001 || s.Max != 1000 {
		t.Fatalf("after one more: %+v", s)
	}
}

func TestCounter(t *testing.T) {
	var c Counter
	c.Add("answered")
	c.Add("answered")
	c.Add("refused")
	if got := c.Counts(); got["answered"] != 2 || got["refused"] != 1 || c.Total() != 3 {
		t.Fatalf("counts %v, total %d", got, c.Total())
	}
}
