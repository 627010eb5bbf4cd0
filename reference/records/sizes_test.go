package records

import (
	"bytes"
	"compress/gzip"
	"testing"
)

// A codec's buffer is sized from its last batch's expansion, an eighth over; within the limit,
// between 4 and 16 times the compressed size, whatever the last batch did.
func TestSizeHintFollowsTheLastBatch(t *testing.T) {
	defer ratios[CodecGzip].Store(0)
	for _, c := range []struct {
		name                string
		learnIn, learnOut   int
		packed, limit, want int
	}{
		{"nothing learned: four times, an eighth over", 0, 0, 10000, 1 << 20, 45000},
		{"an incompressible batch learned: still four times", 1000, 1000, 10000, 1 << 20, 45000},
		{"13:1 learned", 1000, 13000, 10000, 1 << 20, 146250},
		{"within the limit", 1000, 13000, 100000, 1 << 20 / 2, 1<<20/2 + 1},
		{"a bomb counts as 16:1", 1000, 1 << 30, 10000, 1 << 30, 180000},
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

// Decompressing a batch teaches its codec's ratio.
func TestDecompressLearnsTheRatio(t *testing.T) {
	defer ratios[CodecGzip].Store(0)
	ratios[CodecGzip].Store(0)
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(bytes.Repeat([]byte("kafka pulsar "), 1000))
	w.Close()
	packed := buf.Bytes()
	out, err := decompress(CodecGzip, packed, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ratios[CodecGzip].Load(), uint32(min(len(out)*16/len(packed), maxRatio)); got != want || got == 0 {
		t.Fatalf("learned %d, want %d", got, want)
	}
}
