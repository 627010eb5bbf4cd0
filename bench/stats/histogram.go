// Package stats holds the benchmark's arithmetic: a latency histogram with bounded memory and
// percentiles read from it, and the median and spread of a figure over rounds.
package stats

import (
	"math"
	"math/bits"
	"time"
)

// Values below linearMax nanoseconds get a bucket each; above, every power of two is cut into
// subBuckets buckets, so a bucket is at most 1/128 (0.8%) of its values wide. The whole range
// of int64 nanoseconds fits in a fixed array: memory does not grow with the records counted.
const (
	subBits    = 7
	subBuckets = 1 << subBits // buckets per power of two
	linearMax  = 2 * subBuckets
	numBuckets = linearMax + (63-subBits-1)*subBuckets // up to the largest int64
)

// Histogram counts durations. The zero value is empty and ready; it is not safe for
// concurrent use (each producer keeps its own and they are merged).
type Histogram struct {
	counts   [numBuckets]uint64
	n        uint64
	sum      float64 // nanoseconds, for the mean
	min, max int64
}

// bucket is the index of v's bucket (v >= 0).
func bucket(v int64) int {
	if v < linearMax {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - subBits - 1 // v>>shift is in [subBuckets, 2*subBuckets)
	return linearMax + (shift-1)*subBuckets + int(v>>shift) - subBuckets
}

// bounds are the smallest value of bucket i and its width.
func bounds(i int) (low, width int64) {
	if i < linearMax {
		return int64(i), 1
	}
	shift := (i-linearMax)/subBuckets + 1
	return int64((i-linearMax)%subBuckets+subBuckets) << shift, int64(1) << shift
}

// Record counts one duration; a negative one (a clock step) counts as zero.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	h.counts[bucket(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
}

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil || o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
}

// Count is the number of durations recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Quantile is the q-quantile (0 < q <= 1) by nearest rank: the smallest recorded duration
// with at least q of all at or below it, given as the middle of its bucket (clamped to the
// smallest and largest recorded), so within 0.4% of the true value. An empty histogram has 0.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	rank = min(rank, h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen < rank {
			continue
		}
		low, width := bounds(i)
		v := low + (width-1)/2
		return time.Duration(max(min(v, h.max), h.min))
	}
	return time.Duration(h.max)
}

// Percentiles are what the report shows of a histogram, in milliseconds.
type Percentiles struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
	Mean  float64 `json:"mean_ms"`
}

// Percentiles summarises h; nil when it counted nothing.
func (h *Histogram) Percentiles() *Percentiles {
	if h.n == 0 {
		return nil
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return &Percentiles{
		Count: h.n,
		P50:   ms(h.Quantile(0.50)),
		P99:   ms(h.Quantile(0.99)),
		P999:  ms(h.Quantile(0.999)),
		Max:   ms(time.Duration(h.max)),
		Mean:  h.sum / float64(h.n) / float64(time.Millisecond),
	}
}
