package records

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func sample() []Record {
	return []Record{
		{Offset: 10, Timestamp: 1000, Key: []byte("k1"), Value: []byte("v1"), Headers: []Header{{Key: "h", Value: []byte("x")}}},
		{Offset: 11, Timestamp: 1005, Key: nil, Value: nil},
		{Offset: 12, Timestamp: 999, Key: []byte{}, Value: []byte{}},
	}
}

// recompress rewrites an uncompressed batch with codec, fixing length and CRC.
func recompress(t testing.TB, raw []byte, codec int16) []byte {
	t.Helper()
	var b kmsg.RecordBatch
	if err := b.ReadFrom(raw); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	switch codec {
	case 1:
		w := gzip.NewWriter(&buf)
		w.Write(b.Records)
		w.Close()
	case 2:
		buf.Write(s2.EncodeSnappy(nil, b.Records))
	case 3:
		w := lz4.NewWriter(&buf)
		w.Write(b.Records)
		w.Close()
	case 4:
		w, _ := zstd.NewWriter(&buf)
		w.Write(b.Records)
		w.Close()
	}
	b.Records = buf.Bytes()
	b.Attributes = codec
	b.Length = int32(batchHeaderLen - 12 + len(b.Records))
	out := b.AppendTo(nil)
	binary.BigEndian.PutUint32(out[17:], crc32.Checksum(out[21:], crc32c))
	return out
}

func TestRoundTripEveryCodec(t *testing.T) {
	want := sample()
	raw := AppendBatch(nil, want)
	for _, codec := range []int16{0, 1, 2, 3, 4} {
		in := raw
		if codec != 0 {
			in = recompress(t, raw, codec)
		}
		bs, err := Decode(in, 1<<20)
		if err != nil {
			t.Fatalf("codec %d: %v", codec, err)
		}
		if len(bs) != 1 || len(bs[0].Records) != len(want) {
			t.Fatalf("codec %d: got %d batches", codec, len(bs))
		}
		if bs[0].Header.FirstOffset != 10 {
			t.Fatalf("codec %d: base offset %d", codec, bs[0].Header.FirstOffset)
		}
		for i, r := range bs[0].Records {
			w := want[i]
			if r.Offset != w.Offset-10 || r.Timestamp != w.Timestamp ||
				!bytes.Equal(r.Key, w.Key) || (r.Key == nil) != (w.Key == nil) ||
				!bytes.Equal(r.Value, w.Value) || (r.Value == nil) != (w.Value == nil) ||
				len(r.Headers) != len(w.Headers) {
				t.Fatalf("codec %d record %d: got %+v want %+v", codec, i, r, w)
			}
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	good := AppendBatch(nil, sample())
	badCRC := append([]byte(nil), good...)
	badCRC[len(badCRC)-1] ^= 0xff
	oldMagic := append([]byte(nil), good...)
	oldMagic[16] = 1
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"crc mismatch", badCRC, ErrCorrupt},
		{"magic v1", oldMagic, ErrUnsupportedMagic},
		{"truncated", good[:30], ErrCorrupt},
		{"trailing bytes", append(append([]byte(nil), good...), 1, 2, 3), ErrCorrupt},
		{"gzip bomb limit", recompress(t, good, 1), ErrTooLarge},
	}
	for _, c := range cases {
		limit := 1 << 20
		if c.want == ErrTooLarge {
			limit = 10
		}
		if _, err := Decode(c.in, limit); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(AppendBatch(nil, sample()))
	f.Fuzz(func(t *testing.T, in []byte) {
		Decode(in, 1<<16) // must not panic
	})
}

// AppendBatch encodes each record with its length worked out beforehand: the bytes are those
// of franz-go's own encoding of the same batch, after whatever dst already held.
func TestAppendBatchMatchesFranzGo(t *testing.T) {
	recs := append(sample(), Record{Offset: 13, Timestamp: -5, Key: bytes.Repeat([]byte("k"), 300),
		Value: bytes.Repeat([]byte("v"), 70000), Headers: []Header{{Key: "nil", Value: nil}, {Key: "", Value: []byte{}}}})
	var body []byte
	for _, r := range recs {
		kr := kmsg.Record{TimestampDelta64: r.Timestamp - recs[0].Timestamp, OffsetDelta: int32(r.Offset - 10), Key: r.Key, Value: r.Value}
		for _, h := range r.Headers {
			kr.Headers = append(kr.Headers, kmsg.Header{Key: h.Key, Value: h.Value})
		}
		enc := kr.AppendTo(nil)[1:] // with a zero length, which takes one byte
		kr.Length = int32(len(enc))
		body = kr.AppendTo(body)
	}
	want := kmsg.RecordBatch{FirstOffset: 10, Length: int32(batchHeaderLen - 12 + len(body)), PartitionLeaderEpoch: -1, Magic: 2,
		LastOffsetDelta: 3, FirstTimestamp: 1000, MaxTimestamp: 1005, ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1,
		NumRecords: int32(len(recs)), Records: body}
	wb := want.AppendTo([]byte("prefix"))
	binary.BigEndian.PutUint32(wb[6+17:], crc32.Checksum(wb[6+21:], crc32c))
	if got := AppendBatch([]byte("prefix"), recs); !bytes.Equal(got, wb) {
		t.Fatalf("encoded %d bytes, franz-go %d; they differ", len(got), len(wb))
	}
}
