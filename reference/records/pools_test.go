package records

import (
	"fmt"
	"testing"
)

// A small compressed batch, as linger-bound producers send them, decoded with every codec:
// pooled decompressors keep the allocations to the records themselves.
func BenchmarkDecodeSmallCompressedBatch(b *testing.B) {
	raw := AppendBatch(nil, sample())
	for _, codec := range []int16{CodecGzip, CodecSnappy, CodecLZ4, CodecZstd} {
		batch := recompress(b, raw, codec)
		b.Run(fmt.Sprintf("codec=%d", codec), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decode(batch, 1<<20); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Pooled decompressors carry nothing from one batch to the next: a failed decode (a batch
// over the limit, cut mid-stream) leaves none in a state that changes the next result.
func TestPooledDecompressorsStartClean(t *testing.T) {
	raw := AppendBatch(nil, sample())
	big := make([]Record, 200)
	for i := range big {
		big[i] = Record{Offset: int64(i), Value: make([]byte, 100)}
	}
	bigRaw := AppendBatch(nil, big)
	for _, codec := range []int16{CodecGzip, CodecLZ4, CodecZstd} {
		small, large := recompress(t, raw, codec), recompress(t, bigRaw, codec)
		for i := 0; i < 3; i++ {
			if _, err := Decode(large, 1024); err == nil {
				t.Fatalf("codec %d: a batch over the limit decoded", codec)
			}
			got, err := Decode(small, 1<<20)
			if err != nil || len(got) != 1 || len(got[0].Records) != len(sample()) {
				t.Fatalf("codec %d, round %d: after a refused batch, %v %+v", codec, i, err, got)
			}
		}
	}
}
