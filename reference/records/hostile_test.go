package records

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"runtime"
	"testing"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Hostile batches: a header's record count and a compressed payload's size are the peer's
// claims, and neither may make Decode allocate beyond the bytes present and the limit.

// defaultLimit is Kafka's message.max.bytes default, the gateway's default limit.
const defaultLimit = 1048588

// forged is a v2 batch with the given codec, record count and records field, its length and
// CRC correct, so only the claims inside it are false.
func forged(codec int16, numRecords int32, recs []byte) []byte {
	b := kmsg.RecordBatch{Magic: 2, Attributes: codec, NumRecords: numRecords, Records: recs,
		PartitionLeaderEpoch: -1, ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1}
	b.Length = int32(batchHeaderLen - 12 + len(recs))
	out := b.AppendTo(nil)
	binary.BigEndian.PutUint32(out[17:], crc32.Checksum(out[21:], crc32c))
	return out
}

// gzipZeros is a gzip stream of n MiB of zeros: one member of 1 MiB repeated (readers accept
// concatenated members), so a 100 MiB bomb costs a millisecond to build.
func gzipZeros(t testing.TB, n int) []byte {
	var one bytes.Buffer
	w, err := gzip.NewWriterLevel(&one, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(make([]byte, 1<<20))
	w.Close()
	return bytes.Repeat(one.Bytes(), n)
}

// bomb is n bytes of zeros compressed with codec.
func bomb(t testing.TB, codec int16, n int) []byte {
	zeros := make([]byte, n)
	var buf bytes.Buffer
	switch codec {
	case CodecGzip:
		return gzipZeros(t, n>>20)
	case CodecSnappy:
		return s2.EncodeSnappy(nil, zeros)
	case CodecLZ4:
		w := lz4.NewWriter(&buf)
		w.Write(zeros)
		w.Close()
	case CodecZstd:
		w, _ := zstd.NewWriter(&buf)
		w.Write(zeros)
		w.Close()
	}
	return buf.Bytes()
}

// allocated is the bytes f allocates on the heap.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestDecodeBoundsHostileBatches(t *testing.T) {
	// A few MiB for a 1 MiB limit, whatever the batch claims: the limit, the growth of the buffer
	// that reaches it, and the codec's own buffers (lz4 reads and decodes blocks of up to 4 MiB;
	// zstd allocates the window the frame declares, up to maxZstdWindow, which kafka-go's frames
	// use). The race detector about doubles what is allocated.
	const maxAlloc = 4 << 20
	allowance := map[int16]uint64{CodecLZ4: 8 << 20, CodecZstd: maxZstdWindow}
	cases := []struct {
		name  string
		codec int16
		batch func(testing.TB) []byte
		want  error
	}{
		{"a gzip of 100 MiB of zeros claiming 104,857,599 records", CodecGzip, func(t testing.TB) []byte {
			return forged(CodecGzip, 104857599, gzipZeros(t, 100))
		}, ErrTooLarge},
		{"an uncompressed batch claiming more records than its bytes can hold", CodecNone, func(testing.TB) []byte {
			return forged(CodecNone, 900000, make([]byte, 1<<20))
		}, ErrCorrupt},
		{"more records than the limit could hold, claimed before decompressing", CodecZstd, func(t testing.TB) []byte {
			return forged(CodecZstd, defaultLimit/7+1, bomb(t, CodecZstd, 1<<20))
		}, ErrTooLarge},
		{"more records than the decompressed bytes can hold", CodecGzip, func(t testing.TB) []byte {
			return forged(CodecGzip, 1<<20/7+1, gzipZeros(t, 1))
		}, ErrCorrupt},
		{"a negative record count", CodecNone, func(testing.TB) []byte { return forged(CodecNone, -1, []byte{0}) }, ErrCorrupt},
	}
	for _, codec := range []int16{CodecGzip, CodecSnappy, CodecLZ4, CodecZstd} {
		cases = append(cases, struct {
			name  string
			codec int16
			batch func(testing.TB) []byte
			want  error
		}{fmt.Sprintf("codec %d: 16 MiB of zeros claiming one record", codec), codec, func(t testing.TB) []byte {
			return forged(codec, 1, bomb(t, codec, 16<<20))
		}, ErrTooLarge})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := tc.batch(t)
			var err error
			n := allocated(func() { _, err = Decode(raw, defaultLimit) })
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			if most := (maxAlloc + allowance[tc.codec]) * raceFactor; n > most {
				t.Errorf("decoding allocated %d bytes, want at most %d", n, most)
			}
		})
	}
}

// Batches within the limit still decode: the bounds refuse only what cannot be. Tiny records
// near the count bound, and records of nearly the limit compressed with an 8 MiB zstd window
// (kafka-go's streaming frames declare one).
func TestDecodeAcceptsTheLimit(t *testing.T) {
	tiny := make([]Record, defaultLimit/10)
	for i := range tiny {
		tiny[i] = Record{Offset: int64(i)}
	}
	big := []Record{{Value: make([]byte, 600<<10)}, {Offset: 1, Value: make([]byte, 400<<10)}}
	cases := []struct {
		name  string
		recs  []Record
		codec int16
	}{
		{"tiny records", tiny, CodecNone},
		{"tiny records, zstd", tiny, CodecZstd},
		{"big records, gzip", big, CodecGzip},
		{"big records, zstd", big, CodecZstd},
	}
	for _, tc := range cases {
		in := AppendBatch(nil, tc.recs)
		if len(in)-batchHeaderLen > defaultLimit {
			t.Fatalf("%s: test batch of %d bytes is over the limit", tc.name, len(in))
		}
		if tc.codec != CodecNone {
			in = recompress(t, in, tc.codec)
		}
		bs, err := Decode(in, defaultLimit)
		if err != nil || len(bs) != 1 || len(bs[0].Records) != len(tc.recs) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// The limit bounds the records of every batch in raw together: a request's partition may carry
// many small compressed batches, each within the limit.
func TestDecodeBoundsManyBatches(t *testing.T) {
	one := recompress(t, AppendBatch(nil, []Record{{Value: make([]byte, 500<<10)}}), CodecGzip)
	raw := bytes.Repeat(one, 40) // 20 MiB of records in about 20 KiB
	var err error
	n := allocated(func() { _, err = Decode(raw, defaultLimit) })
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("err = %v, want %v", err, ErrTooLarge)
	}
	if most := uint64(4<<20) * raceFactor; n > most {
		t.Errorf("decoding allocated %d bytes, want at most %d", n, most)
	}
	if _, err := Decode(bytes.Repeat(one, 2), defaultLimit); err != nil {
		t.Errorf("two batches within the limit: %v", err)
	}
}
