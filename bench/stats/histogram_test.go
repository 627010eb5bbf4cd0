package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// exactQuantile is the nearest-rank quantile of sorted values, the definition Quantile follows.
func exactQuantile(sorted []time.Duration, q float64) time.Duration {
	rank := int(math.Ceil(q * float64(len(sorted))))
	rank = max(rank, 1)
	return sorted[rank-1]
}

func TestBucketsCoverEveryValueOnce(t *testing.T) {
	prevLow := int64(-1)
	for i := 0; i < numBuckets; i++ {
		low, width := bounds(i)
		if low <= prevLow {
			t.Fatalf("bucket %d starts at %d, not after bucket %d (%d)", i, low, i-1, prevLow)
		}
		if got := bucket(low); got != i {
			t.Fatalf("bucket(%d) = %d, want %d", low, got, i)
		}
		if last := low + width - 1; last > low && bucket(last) != i {
			t.Fatalf("bucket(%d) = %d, want %d (end of bucket)", last, bucket(last), i)
		}
		if i >= linearMax && float64(width)/float64(low) > 1.0/subBuckets+1e-12 {
			t.Fatalf("bucket %d is %d wide at %d: more than 1/%d", i, width, low, subBuckets)
		}
		prevLow = low
	}
	if b := bucket(math.MaxInt64); b != numBuckets-1 {
		t.Fatalf("bucket(MaxInt64) = %d, want the last of %d buckets", b, numBuckets)
	}
}

func TestQuantilesWithinHalfAPercent(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for name, draw := range map[string]func() time.Duration{
		"uniform 0-100ms": func() time.Duration { return time.Duration(rng.Int64N(int64(100 * time.Millisecond))) },
		"exponential 2ms": func() time.Duration { return time.Duration(rng.ExpFloat64() * float64(2*time.Millisecond)) },
		"long tail 1ms-5s": func() time.Duration {
			return time.Duration(math.Exp(rng.Float64()*math.Log(5000)) * float64(time.Millisecond))
		},
	} {
		t.Run(name, func(t *testing.T) {
			var h Histogram
			vals := make([]time.Duration, 100_000)
			for i := range vals {
				vals[i] = draw()
				h.Record(vals[i])
			}
			slices.Sort(vals)
			for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999, 1} {
				want, got := exactQuantile(vals, q), h.Quantile(q)
				if diff := math.Abs(float64(got-want)) / float64(want); diff > 0.005 {
					t.Errorf("q%.3f = %v, want %v (off by %.2f%%)", q, got, want, diff*100)
				}
			}
			if h.Count() != uint64(len(vals)) {
				t.Errorf("count %d, want %d", h.Count(), len(vals))
			}
		})
	}
}

func TestSmallValuesAreExact(t *testing.T) {
	var h Histogram
	for v := 1; v <= 100; v++ {
		h.Record(time.Duration(v))
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50}, {0.99, 99}, {0.999, 100}, {1, 100}, {0.001, 1}} {
		if got := h.Quantile(c.q); got != c.want {
			t.Errorf("q%v = %v, want %v", c.q, got, c.want)
		}
	}
}

func TestOneValueIsEveryPercentile(t *testing.T) {
	var h Histogram
	h.Record(3 * time.Millisecond)
	p := h.Percentiles()
	if p.P50 != 3 || p.P99 != 3 || p.P999 != 3 || p.Max != 3 || p.Mean != 3 || p.Count != 1 {
		t.Fatalf("one value of 3 ms: %+v", p)
	}
}

func TestEmptyAndNegative(t *testing.T) {
	var h Histogram
	if h.Quantile(0.5) != 0 || h.Percentiles() != nil {
		t.Fatal("an empty histogram must have no percentiles")
	}
	h.Record(-time.Second)
	if h.Quantile(1) != 0 {
		t.Fatalf("a negative duration counts as 0, got %v", h.Quantile(1))
	}
}

func TestMergeEqualsRecordingEverything(t *testing.T) {
	var a, b, all Histogram
	for i := 1; i <= 1000; i++ {
		d := time.Duration(i) * time.Microsecond
		all.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	a.Merge(&b)
	a.Merge(nil)
	if *a.Percentiles() != *all.Percentiles() {
		t.Fatalf("merged %+v, recorded together %+v", a.Percentiles(), all.Percentiles())
	}
}
