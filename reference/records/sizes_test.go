package records

import "testing"

// A codec's buffer is sized from its last batch's expansion, an eighth over; within the limit,
// and no more than 64 times the compressed size, however much a bomb expanded.
func TestSizeHintFollowsTheLastBatch(t *testing.T) {
	defer ratios[CodecGzip].Store(0)
	for _, c := range []struct {
		name                string
		learnIn, learnOut   int
		packed, limit, want int
	}{
		{"nothing learned: four times", 0, 0, 10000, 1 << 20, 45000},
		{"13:1 learned", 1000, 13000, 10000, 1 << 20, 146250},
		{"within the limit", 1000, 13000, 100000, 1 << 20 / 2, 1<<20/2 + 1},
		{"a bomb counts as 64:1", 1000, 1 << 30, 10000, 1 << 30, 720000},
		{"never under 4 KiB", 1000, 1000, 10, 1 << 20, 4096},
	} {
		ratios[CodecGzip].Store(0)
		if c.learnIn > 0 {
			learnRatio(CodecGzip, c.learnIn, c.learnOut)
		}
		if got := sizeHint(CodecGzip, c.packed, c.limit); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}
