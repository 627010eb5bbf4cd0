// Package records is the gateway's Kafka record model (Record, Header) and the batch codec: it
// decodes produced record batches (magic v2, any codec) and encodes stored records into
// uncompressed v2 batches for fetch responses. It knows nothing of where records are stored.
package records

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// Errors a produce handler maps to Kafka error codes.
var (
	ErrCorrupt          = errors.New("corrupt record batch")
	ErrUnsupportedMagic = errors.New("unsupported record batch magic (only v2 is served)")
	ErrTooLarge         = errors.New("decompressed records exceed the limit")
)

// Batch is one decoded record batch.
type Batch struct {
	Header  kmsg.RecordBatch // Records emptied
	Records []Record
}

// Compression codecs, as a batch's attributes name them (Codec).
const (
	CodecNone   int16 = 0
	CodecGzip   int16 = 1
	CodecSnappy int16 = 2
	CodecLZ4    int16 = 3
	CodecZstd   int16 = 4
)

// Codec is the compression codec a batch's attributes name.
func Codec(attributes int16) int16 { return attributes & 0x7 }

// batchHeaderLen is the v2 batch header size up to and including NumRecords.
const batchHeaderLen = 61

// Limits on what a batch may claim. A v2 record takes at least minRecordLen bytes (its length,
// attributes, timestamp delta, offset delta, key length, value length and header count, one
// byte each), so a batch claiming more records than its bytes can hold is corrupt, whatever it
// says; records are never preallocated beyond preallocRecords, so a count that passes the check
// but lies about a malformed body costs no more than the records actually read.
const (
	minRecordLen    = 7
	preallocRecords = 1024
)

// maxZstdWindow bounds the zstd window a batch may declare (the decoder allocates it up front):
// 8 MiB, the window the zstd format asks every decoder to support, or the limit when larger.
const maxZstdWindow = 8 << 20

var errZstdUnavailable = errors.New("no zstd decoder")

// Decode parses every batch in raw. limit bounds the records of all its batches together,
// decompressed (the gateway passes max message bytes: they become one Pulsar entry):
// decompression stops once it is passed, so small compressed payloads cannot expand without
// bound, and a compressed batch claiming more records than the rest of the limit could hold is
// refused before anything is decompressed (both ErrTooLarge). A batch claiming more records
// than its (decompressed) bytes hold is ErrCorrupt.
func Decode(raw []byte, limit int) ([]Batch, error) {
	var out []Batch
	room := limit
	for len(raw) > 0 {
		if len(raw) < 17 {
			return nil, fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(raw))
		}
		length := int32(binary.BigEndian.Uint32(raw[8:12]))
		magic := int8(raw[16])
		if magic != 2 {
			return nil, fmt.Errorf("%w: magic %d", ErrUnsupportedMagic, magic)
		}
		total := 12 + int(length)
		if length < batchHeaderLen-12 || total > len(raw) {
			return nil, fmt.Errorf("%w: batch length %d with %d bytes left", ErrCorrupt, length, len(raw))
		}
		b, size, err := decodeBatch(raw[:total], room)
		if err != nil {
			return nil, err
		}
		room -= size
		out = append(out, b)
		raw = raw[total:]
	}
	return out, nil
}

// decodeBatch decodes one batch whose records may take limit bytes, decompressed, and returns
// the size they take.
func decodeBatch(raw []byte, limit int) (Batch, int, error) {
	var h kmsg.RecordBatch
	if err := h.ReadFrom(raw); err != nil {
		return Batch{}, 0, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if got := int32(crc32.Checksum(raw[21:], crc32c)); got != h.CRC {
		return Batch{}, 0, fmt.Errorf("%w: crc %08x, header says %08x", ErrCorrupt, uint32(got), uint32(h.CRC))
	}
	if h.NumRecords < 0 {
		return Batch{}, 0, fmt.Errorf("%w: %d records", ErrCorrupt, h.NumRecords)
	}
	codec := Codec(h.Attributes)
	if codec != CodecNone && !fits(h.NumRecords, limit) {
		// Whatever the payload holds, these records cannot decompress within the limit.
		return Batch{}, 0, fmt.Errorf("%w: the header claims %d records, at least %d bytes decompressed (limit %d)",
			ErrTooLarge, h.NumRecords, int64(h.NumRecords)*minRecordLen, limit)
	}
	body, err := decompress(codec, h.Records, limit)
	if err != nil {
		return Batch{}, 0, err
	}
	if len(body) > limit {
		return Batch{}, 0, fmt.Errorf("%w (%d bytes)", ErrTooLarge, limit)
	}
	if !fits(h.NumRecords, len(body)) {
		return Batch{}, 0, fmt.Errorf("%w: the header claims %d records, which need at least %d bytes; the records hold %d",
			ErrCorrupt, h.NumRecords, int64(h.NumRecords)*minRecordLen, len(body))
	}
	recs := make([]Record, 0, min(h.NumRecords, preallocRecords))
	rd := kbin.Reader{Src: body}
	for i := int32(0); i < h.NumRecords; i++ {
		start := rd.Src
		l := rd.Varint()
		if !rd.Ok() || l < 0 || int(l) > len(rd.Src) {
			return Batch{}, 0, fmt.Errorf("%w: record %d length %d", ErrCorrupt, i, l)
		}
		n := len(start) - len(rd.Src) + int(l)
		var r kmsg.Record
		if err := r.ReadFrom(start[:n]); err != nil {
			return Batch{}, 0, fmt.Errorf("%w: record %d: %v", ErrCorrupt, i, err)
		}
		rd.Src = start[n:]
		ts := h.FirstTimestamp + r.TimestampDelta64
		sr := Record{Offset: int64(r.OffsetDelta), Timestamp: ts, Key: r.Key, Value: r.Value}
		if len(r.Headers) > 0 {
			sr.Headers = make([]Header, len(r.Headers))
			for j, hd := range r.Headers {
				sr.Headers[j] = Header{Key: hd.Key, Value: hd.Value}
			}
		}
		recs = append(recs, sr)
	}
	if len(rd.Src) != 0 {
		return Batch{}, 0, fmt.Errorf("%w: %d bytes after %d records", ErrCorrupt, len(rd.Src), h.NumRecords)
	}
	h.Records = nil
	return Batch{Header: h, Records: recs}, len(body), nil
}

// fits says whether n records can be encoded in size bytes.
func fits(n int32, size int) bool { return int64(n)*minRecordLen <= int64(size) }

var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

func decompress(codec int16, src []byte, limit int) ([]byte, error) {
	var (
		out []byte
		err error
	)
	switch codec {
	case CodecNone:
		return src, nil
	case CodecGzip:
		out, err = gunzip(src, limit)
	case CodecSnappy:
		out, err = unsnappy(src, limit)
	case CodecLZ4:
		out, err = unlz4(src, limit)
	case CodecZstd:
		out, err = unzstd(src, limit)
		if errors.Is(err, zstd.ErrWindowSizeExceeded) {
			return nil, fmt.Errorf("%w: the zstd window is over %d bytes", ErrTooLarge, max(maxZstdWindow, limit))
		}
	default:
		return nil, fmt.Errorf("%w: unknown compression codec %d", ErrCorrupt, codec)
	}
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: codec %d: %v", ErrCorrupt, codec, err)
	}
	learnRatio(codec, len(src), len(out))
	return out, nil
}

// readLimited reads r to its end, at most limit bytes, into a buffer of size bytes at first
// (sizeHint) that doubles when full.
func readLimited(r io.Reader, limit, size int) ([]byte, error) {
	out := make([]byte, 0, size)
	for {
		n, err := r.Read(out[len(out):cap(out)])
		out = out[:len(out)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(out) > limit {
			return nil, fmt.Errorf("%w (%d bytes)", ErrTooLarge, limit)
		}
		if len(out) == cap(out) {
			grown := make([]byte, len(out), min(limit+1, 2*cap(out)))
			copy(grown, out)
			out = grown
		}
	}
	if len(out) > limit {
		return nil, fmt.Errorf("%w (%d bytes)", ErrTooLarge, limit)
	}
	return out, nil
}

// unsnappy accepts raw snappy blocks and the xerial framing the Java client writes.
func unsnappy(src []byte, limit int) ([]byte, error) {
	if !bytes.HasPrefix(src, xerialMagic) {
		return snappyBlock(src, limit)
	}
	src = src[16:] // magic(8) + version(4) + compatible version(4)
	var out []byte
	for len(src) > 0 {
		if len(src) < 4 {
			return nil, errors.New("truncated xerial chunk header")
		}
		n := int(binary.BigEndian.Uint32(src))
		src = src[4:]
		if n < 0 || n > len(src) {
			return nil, errors.New("truncated xerial chunk")
		}
		blk, err := snappyBlock(src[:n], limit-len(out))
		if err != nil {
			return nil, err
		}
		out = append(out, blk...)
		src = src[n:]
	}
	return out, nil
}

func snappyBlock(src []byte, limit int) ([]byte, error) {
	n, err := s2.DecodedLen(src)
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, fmt.Errorf("%w (%d bytes)", ErrTooLarge, limit)
	}
	return s2.Decode(nil, src)
}

// AppendBatch appends recs (consecutive offsets, starting at recs[0].Offset) as one
// uncompressed v2 record batch.
func AppendBatch(dst []byte, recs []Record) []byte {
	if len(recs) == 0 {
		return dst
	}
	base := recs[0].Offset
	firstTS, maxTS := recs[0].Timestamp, recs[0].Timestamp
	for _, r := range recs {
		if r.Timestamp > maxTS {
			maxTS = r.Timestamp
		}
	}
	// The batch is encoded in place: its header (length and CRC filled in last), then each
	// record with a length worked out beforehand, so nothing is encoded twice or copied.
	size := batchHeaderLen
	for i := range recs {
		size += len(recs[i].Key) + len(recs[i].Value) + 16
	}
	start := len(dst)
	dst = slices.Grow(dst, size)
	b := kmsg.RecordBatch{
		FirstOffset:          base,
		PartitionLeaderEpoch: -1,
		Magic:                2,
		LastOffsetDelta:      int32(recs[len(recs)-1].Offset - base),
		FirstTimestamp:       firstTS,
		MaxTimestamp:         maxTS,
		ProducerID:           -1,
		ProducerEpoch:        -1,
		FirstSequence:        -1,
		NumRecords:           int32(len(recs)),
	}
	dst = b.AppendTo(dst)
	var hs []kmsg.Header
	for _, r := range recs {
		kr := kmsg.Record{
			TimestampDelta64: r.Timestamp - firstTS,
			OffsetDelta:      int32(r.Offset - base),
			Key:              r.Key,
			Value:            r.Value,
		}
		hs = hs[:0]
		for _, h := range r.Headers {
			hs = append(hs, kmsg.Header{Key: h.Key, Value: h.Value})
		}
		kr.Headers = hs
		kr.Length = recordLength(&kr)
		dst = kr.AppendTo(dst)
	}
	binary.BigEndian.PutUint32(dst[start+8:], uint32(len(dst)-start-12))
	crc := crc32.Checksum(dst[start+21:], crc32c)
	binary.BigEndian.PutUint32(dst[start+17:], crc)
	return dst
}

// recordLength is the encoded length of r after its length prefix.
func recordLength(r *kmsg.Record) int32 {
	bytesLen := func(b []byte) int {
		if b == nil {
			return kbin.VarintLen(-1)
		}
		return kbin.VarintLen(int32(len(b))) + len(b)
	}
	n := 1 + kbin.VarlongLen(r.TimestampDelta64) + kbin.VarintLen(r.OffsetDelta) + bytesLen(r.Key) + bytesLen(r.Value) +
		kbin.VarintLen(int32(len(r.Headers)))
	for _, h := range r.Headers {
		n += kbin.VarintLen(int32(len(h.Key))) + len(h.Key) + bytesLen(h.Value)
	}
	return int32(n)
}
