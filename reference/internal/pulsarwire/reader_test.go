package pulsarwire

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"net"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

type subscribed struct {
	conn     net.Conn
	consumer uint64
	start    Position
	durable  bool
	earliest bool
}

type flowed struct {
	consumer uint64
	permits  uint64
}

// reader answers a reader's commands.
func (b *fakeBroker) reader(c net.Conn, cmd command) {
	switch cmd.typ {
	case cmdSubscribe:
		id, _ := cmd.body.sub(9)
		b.mu.Lock()
		b.subs = append(b.subs, subscribed{conn: c, consumer: cmd.body.uint(4), start: Position{int64(id.uint(1)), int64(id.uint(2))},
			durable: !cmd.body.has(8) || cmd.body.uint(8) == 1, earliest: cmd.body.uint(13) == 1})
		b.mu.Unlock()
		b.send(c, cmdSuccess, putVarint(nil, 1, cmd.body.uint(5)))
	case cmdFlow:
		b.flows <- flowed{cmd.body.uint(1), cmd.body.uint(2)}
	case cmdAck:
		id, _ := cmd.body.sub(3)
		if cmd.body.uint(2) != 1 {
			b.t.Errorf("ack type %d, want cumulative", cmd.body.uint(2))
		}
		b.acks <- Position{int64(id.uint(1)), int64(id.uint(2))}
	case cmdLastMessageID:
		b.mu.Lock()
		last, batch := b.last, b.lastBatch
		b.mu.Unlock()
		id := putVarint(putVarint(nil, 1, uint64(last.Ledger)), 2, uint64(last.Entry))
		if batch > 0 {
			id = putVarint(id, 4, uint64(batch))
		}
		b.send(c, cmdLastMessageIDResponse, putVarint(putBytes(nil, 1, id), 2, cmd.body.uint(2)))
	case cmdCloseConsumer:
		b.closed <- cmd.body.uint(1)
	}
}

func (b *fakeBroker) sub(i int) subscribed {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.subs[i]
}

// deliver sends the entry at pos to the i-th subscription, as the broker dispatches it.
func (b *fakeBroker) deliver(i int, pos Position, data []byte) {
	s := b.sub(i)
	id := putVarint(putVarint(nil, 1, uint64(pos.Ledger)), 2, uint64(pos.Entry))
	cmd := baseCommand(cmdMessage, putBytes(putVarint(nil, 1, s.consumer), 2, id))
	f := binary.BigEndian.AppendUint32(nil, uint32(4+len(cmd)+len(data)))
	f = binary.BigEndian.AppendUint32(f, uint32(len(cmd)))
	s.conn.Write(append(append(f, cmd...), data...))
}

// stored is an entry as the broker keeps and dispatches it: broker entry metadata with the
// index of its last message (when index >= 0), then the producer's checksummed frame.
func stored(index int64, meta, payload []byte) []byte {
	var b []byte
	if index >= 0 {
		bm := putVarint(putVarint(nil, 1, 1700000000000), 2, uint64(index))
		b = append(b, 0x0e, 0x02)
		b = binary.BigEndian.AppendUint32(b, uint32(len(bm)))
		b = append(b, bm...)
	}
	rest := binary.BigEndian.AppendUint32(nil, uint32(len(meta)))
	rest = append(append(rest, meta...), payload...)
	b = append(b, 0x0e, 0x01)
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(rest, crc32.MakeTable(crc32.Castagnoli)))
	return append(b, rest...)
}

// batchEntry is entryOf(i) as the broker stores it, with index the last message's.
func batchEntry(i int, index int64) []byte {
	e := entryOf(i)
	return stored(index, e.metadata("producer", uint64(i), 5000), e.payload)
}

func openReader(t *testing.T, b *fakeBroker, start Position, queue int) *Reader {
	t.Helper()
	c, err := NewClient(b.url(), "", 5*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := c.Reader(ctx, "persistent://t/n/topic", start, queue)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func next(t *testing.T, r *Reader) *Received {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := r.Next(ctx)
	if err != nil {
		t.Fatalf("next: %v", err)
	}
	return m
}

func waitFlow(t *testing.T, b *fakeBroker) flowed {
	t.Helper()
	select {
	case f := <-b.flows:
		return f
	case <-time.After(5 * time.Second):
		t.Fatal("no flow")
	}
	return flowed{}
}

// A reader subscribes without a durable cursor at its start, gives queue permits, drops what
// comes before its start, and hands out each message with its place, index and fields.
func TestReaderReadsEntriesInOrderFromItsStart(t *testing.T) {
	b := newBroker(t)
	r := openReader(t, b, Position{7, 3}, 4)
	if s := b.sub(0); s.start != (Position{7, 3}) || s.durable || s.earliest {
		t.Fatalf("subscribe %+v, want start 7:3, not durable", s)
	}
	if f := waitFlow(t, b); f.permits != 4 || f.consumer != b.sub(0).consumer {
		t.Fatalf("first flow %+v, want 4 permits", f)
	}
	b.deliver(0, Position{7, 2}, batchEntry(2, 20)) // before the start: dropped
	b.deliver(0, Position{7, 3}, batchEntry(3, 30))
	unbatched := putString(nil, 1, "p")
	unbatched = putVarint(unbatched, 2, 9)
	unbatched = putVarint(unbatched, 3, 6000)
	unbatched = putBytes(unbatched, 4, putString(putString(nil, 1, "a"), 2, "1"))
	unbatched = putString(unbatched, 6, "solo-key")
	b.deliver(0, Position{7, 4}, stored(31, unbatched, []byte("solo")))

	type got struct {
		Pos              Position
		Batch            int32
		Index            uint64
		Key, Payload     string
		Props            map[string]string
		Event, Published int64
	}
	var out []got
	for range 3 {
		m := next(t, r)
		out = append(out, got{m.Pos, m.BatchIdx, *m.Index(), m.Key(), string(m.Payload()), m.Properties(),
			m.EventTime().UnixMilli(), m.PublishTime().UnixMilli()})
	}
	want := []got{
		{Position{7, 3}, 0, 29, "key3", "first3", map[string]string{"h": "v"}, 1003, 5000},
		{Position{7, 3}, 1, 30, "", "second3", nil, time.Time{}.UnixMilli(), 5000},
		{Position{7, 4}, 0, 31, "solo-key", "solo", map[string]string{"a": "1"}, time.Time{}.UnixMilli(), 6000},
	}
	if !reflect.DeepEqual(out, want) {
		t.Fatalf("read\n%+v\nwant\n%+v", out, want)
	}
	// 2 + 2 + 1 messages read with 4 permits: half a queue read gives the permits back, with a
	// cumulative acknowledgement of the entry read.
	if f := waitFlow(t, b); f.permits < 2 {
		t.Fatalf("flow %+v, want the permits of what was read", f)
	}
	select {
	case a := <-b.acks:
		if a.before(Position{7, 2}) {
			t.Fatalf("ack %v", a)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no ack")
	}
}

// Latest, inclusive: the reader asks for the last message and starts there (the last of its
// batch, as Pulsar's readers do); on an empty topic it stays where the broker put it.
func TestReaderAtLatestStartsAtTheLastMessage(t *testing.T) {
	b := newBroker(t)
	b.last, b.lastBatch = Position{7, 5}, 1
	r := openReader(t, b, Latest, 10)
	if s := b.sub(0); s.start != Latest {
		t.Fatalf("first subscribe at %v, want latest", s.start)
	}
	if s := b.sub(1); s.start != (Position{7, 5}) {
		t.Fatalf("second subscribe at %v, want 7:5", s.start)
	}
	select {
	case id := <-b.closed:
		if id != b.sub(0).consumer {
			t.Fatalf("closed consumer %d, want the first", id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the first subscription was not closed")
	}
	if !r.HasNext() {
		t.Fatal("HasNext false with entry 7:5 not read")
	}
	b.deliver(1, Position{7, 5}, batchEntry(5, 50))
	if m := next(t, r); m.Pos != (Position{7, 5}) || m.BatchIdx != 1 || *m.Index() != 50 {
		t.Fatalf("first message at %v/%d, index %d; want the batch's last, 7:5/1, 50", m.Pos, m.BatchIdx, *m.Index())
	}
	if r.HasNext() {
		t.Fatal("HasNext true after the last entry was read")
	}

	empty := newBroker(t)
	empty.last = Position{7, -1}
	er := openReader(t, empty, Latest, 10)
	empty.mu.Lock()
	n := len(empty.subs)
	empty.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d subscriptions on an empty topic, want 1", n)
	}
	// What is written after the open is read, and an entry after it is known to be unread.
	empty.deliver(0, Position{7, 0}, batchEntry(0, 1))
	next(t, er)
	next(t, er)
	empty.mu.Lock()
	empty.last = Position{7, 1}
	empty.mu.Unlock()
	if !er.HasNext() {
		t.Fatal("HasNext false with entry 7:1 written after the one read")
	}
}

// Whatever ends a reader, what arrived before is still read, then Next says why.
func TestReaderEnds(t *testing.T) {
	for _, c := range []struct {
		name   string
		end    func(b *fakeBroker)
		error  string
		onRead bool // the reader ends only when Next meets it
	}{
		{"the broker closes the subscription", func(b *fakeBroker) {
			b.send(b.sub(0).conn, cmdCloseConsumer, putVarint(putVarint(nil, 1, b.sub(0).consumer), 2, 0))
		}, "pulsar closed the reader", false},
		{"the connection is lost", func(b *fakeBroker) { b.sub(0).conn.Close() }, "pulsar connection closed", false},
		{"more entries than permitted", func(b *fakeBroker) {
			b.deliver(0, Position{7, 1}, batchEntry(1, 11))
			b.deliver(0, Position{7, 2}, batchEntry(2, 12))
		}, "more entries than permitted", false},
		{"an entry that does not decode", func(b *fakeBroker) {
			d := batchEntry(1, 11)
			d[len(d)-1] ^= 0xff
			b.deliver(0, Position{7, 1}, d)
		}, "checksum mismatch", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newBroker(t)
			r := openReader(t, b, Earliest, 2)
			if !b.sub(0).earliest {
				t.Fatal("subscribed from earliest without the initial position")
			}
			b.deliver(0, Position{7, 0}, batchEntry(0, 1))
			c.end(b)
			// Read only once the reader has ended: what arrived before must still come out.
			for deadline := time.Now().Add(5 * time.Second); !c.onRead && r.Err() == nil; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the reader did not end")
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var got []string
			var err error
			for {
				var m *Received
				if m, err = r.Next(ctx); err != nil {
					break
				}
				got = append(got, string(m.Payload()))
			}
			if len(got) < 2 || got[0] != "first0" || got[1] != "second0" || !strings.Contains(err.Error(), c.error) {
				t.Fatalf("read %q then %v; want first0, second0, then %q", got, err, c.error)
			}
			if _, err := r.Next(ctx); err == nil || errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("next after the end: %v", err)
			}
		})
	}
}

// Entries compressed by any of Pulsar's codecs are read; sizes that disagree with the
// metadata, or over the bound, are errors.
func TestCompressedEntriesAreRead(t *testing.T) {
	e := entryOf(4)
	raw := e.payload
	lz := make([]byte, lz4.CompressBlockBound(len(raw)))
	n, err := lz4.CompressBlock(raw, lz, nil)
	if err != nil {
		t.Fatal(err)
	}
	var zl bytes.Buffer
	zw := zlib.NewWriter(&zl)
	zw.Write(raw)
	zw.Close()
	enc, _ := zstd.NewWriter(nil)
	zs := enc.EncodeAll(raw, nil)
	for _, c := range []struct {
		name  string
		kind  uint64
		size  int
		data  []byte
		error string
	}{
		{"lz4", compressionLZ4, len(raw), lz[:n], ""},
		{"zlib", compressionZlib, len(raw), zl.Bytes(), ""},
		{"zstd", compressionZstd, len(raw), zs, ""},
		{"snappy", compressionSnappy, len(raw), snappy.Encode(nil, raw), ""},
		{"a size that disagrees", compressionSnappy, len(raw) + 1, snappy.Encode(nil, raw), "metadata says"},
		{"over the bound", compressionZstd, maxUncompressed + 1, zs, "at most"},
		{"an unknown codec", 9, len(raw), raw, "unknown compression"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var meta []byte
			meta = putString(meta, 1, "p")
			meta = putVarint(meta, 2, 0)
			meta = putVarint(meta, 3, 5000)
			meta = putVarint(meta, 8, c.kind)
			meta = putVarint(meta, 9, uint64(c.size))
			meta = putVarint(meta, 11, 2)
			msgs, n, err := decodeEntry(Position{1, 1}, stored(9, meta, c.data))
			if c.error != "" {
				if err == nil || !strings.Contains(err.Error(), c.error) {
					t.Fatalf("err %v, want %q", err, c.error)
				}
				return
			}
			if err != nil || n != 2 || len(msgs) != 2 || string(msgs[0].Payload()) != "first4" || string(msgs[1].Payload()) != "second4" {
				t.Fatalf("decoded %d %+v %v", n, msgs, err)
			}
		})
	}
}

// An entry without broker entry metadata has no index; compacted-out messages take their
// permit but are not handed out.
func TestEntriesWithoutIndexAndCompactedOut(t *testing.T) {
	msgs, n, err := decodeEntry(Position{1, 1}, batchEntry(1, -1))
	if err != nil || n != 2 || msgs[0].Index() != nil {
		t.Fatalf("without broker metadata: %+v %d %v", msgs, n, err)
	}
	var payload []byte
	for i, out := range []bool{true, false} {
		sm := putVarint(nil, 3, 1)
		if out {
			sm = putVarint(sm, 4, 1)
		}
		payload = binary.BigEndian.AppendUint32(payload, uint32(len(sm)))
		payload = append(append(payload, sm...), byte('a'+i))
	}
	meta := putVarint(putVarint(putVarint(putString(nil, 1, "p"), 2, 0), 3, 1), 11, 2)
	msgs, n, err = decodeEntry(Position{1, 1}, stored(41, meta, payload))
	if err != nil || n != 2 || len(msgs) != 1 || string(msgs[0].Payload()) != "b" || *msgs[0].Index() != 41 || msgs[0].BatchIdx != 1 {
		t.Fatalf("compacted out: %+v %d %v", msgs, n, err)
	}
}

// A reader of heads hands out one head per entry without decoding its messages: the entry's
// own properties (its tags) when it has some, else its first message's (decompressed when
// need be); entries before the start are dropped whole.
func TestHeadsFollowEntriesWithoutTheirMessages(t *testing.T) {
	b := newBroker(t)
	r := openReader(t, b, Position{7, 3}, 8)
	waitFlow(t, b)
	b.deliver(0, Position{7, 2}, batchEntry(2, 20)) // before the start: dropped
	tagged := entryOf(3)
	tagged.Tag("w", "3")
	meta := tagged.metadata("producer", 3, 5003)
	// The tagged entry's messages are garbage: a head is read from the metadata alone.
	b.deliver(0, Position{7, 3}, stored(30, meta, []byte{0xff, 0xff, 0xff, 0xff, 1}))
	untagged := NewEntry(256)
	untagged.Add(&Message{Properties: []Property{{"h", "v"}}, Payload: bytes.Repeat([]byte("first4"), 20)})
	untagged.Add(&Message{Payload: bytes.Repeat([]byte("second4"), 20)})
	untagged.Compress()
	if untagged.raw == 0 {
		t.Fatal("the untagged entry did not compress: its head would not need decompressing")
	}
	b.deliver(0, Position{7, 4}, stored(32, untagged.metadata("producer", 4, 5004), untagged.payload))
	solo := putVarint(putVarint(putString(nil, 1, "p"), 2, 9), 3, 6000)
	solo = putBytes(solo, 4, putString(putString(nil, 1, "a"), 2, "1"))
	b.deliver(0, Position{8, 0}, stored(33, solo, []byte("solo")))

	var got []Head
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		h, err := r.NextHead(ctx)
		cancel()
		if err != nil {
			t.Fatalf("head: %v", err)
		}
		got = append(got, *h)
	}
	want := []Head{
		{Pos: Position{7, 3}, Messages: 2, Index: 30, HasIndex: true, BrokerAt: 1700000000000, Published: 5003, Props: map[string]string{"w": "3"}},
		{Pos: Position{7, 4}, Messages: 2, Index: 32, HasIndex: true, BrokerAt: 1700000000000, Published: 5004, Props: map[string]string{"h": "v"}},
		{Pos: Position{8, 0}, Messages: 1, Index: 33, HasIndex: true, BrokerAt: 1700000000000, Published: 6000, Props: map[string]string{"a": "1"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("heads\n%+v\nwant\n%+v", got, want)
	}
	// Tags are the entry's, never a message's: a consumer of the messages does not see them.
	msgs, _, err := decodeEntry(Position{7, 3}, stored(30, meta, tagged.payload))
	if err != nil || len(msgs) != 2 || !reflect.DeepEqual(msgs[0].Properties(), map[string]string{"h": "v"}) || msgs[1].Properties() != nil {
		t.Fatalf("messages of a tagged entry: %+v %v", msgs, err)
	}
}

// A payload that does not match its checksum fails readers of heads and of messages alike
// (the checksum covers the metadata a head reads too); a batch count over the bound is refused
// whole, not cut to 32 bits; a batch's own properties that do not parse count as none in a
// head, as readers of its messages never read them.
func TestHeadsAndMessagesAgreeOnBrokenEntries(t *testing.T) {
	b := batchEntry(1, 10)
	b[len(b)-1] ^= 0xff
	if _, _, err := decodeEntry(Position{1, 1}, b); !errors.Is(err, errChecksum) {
		t.Fatalf("messages of a corrupt entry: %v, want %v", err, errChecksum)
	}
	if _, err := decodeHead(Position{1, 1}, b); !errors.Is(err, errChecksum) {
		t.Fatalf("head of a corrupt entry: %v, want %v", err, errChecksum)
	}
	huge := putVarint(putVarint(putVarint(putString(nil, 1, "p"), 2, 0), 3, 1), 11, 1<<32+3)
	if _, err := decodeHead(Position{1, 1}, stored(9, huge, nil)); err == nil || !strings.Contains(err.Error(), "batch of 4294967299") ||
		messagesIn(stored(9, huge, nil)) != 1 {
		t.Fatalf("a batch of 2^32+3 messages: %v, counted %d", err, messagesIn(stored(9, huge, nil)))
	}
	e := entryOf(2)
	meta := append(e.metadata("producer", 2, 5000), 0x22, 0x01, 0x80) // field 4: one byte that is no KeyValue
	h, err := decodeHead(Position{1, 1}, stored(11, meta, e.payload))
	msgs, _, merr := decodeEntry(Position{1, 1}, stored(11, meta, e.payload))
	if err != nil || merr != nil || len(msgs) != 2 || !reflect.DeepEqual(h.Props, map[string]string{"h": "v"}) {
		t.Fatalf("broken entry properties: head %+v %v, %d messages %v", h, err, len(msgs), merr)
	}
}

// Whatever a broker sends as an entry, decoding never panics and never claims more than it
// holds.
func FuzzDecodeEntry(f *testing.F) {
	f.Add(batchEntry(1, 10))
	f.Add(batchEntry(2, -1))
	f.Add([]byte{0x0e, 0x02, 0, 0, 0, 9})
	f.Add([]byte{0x0e, 0x01, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, n, err := decodeEntry(Position{1, 1}, b)
		if err == nil && len(msgs) > n {
			t.Fatalf("%d messages of an entry of %d", len(msgs), n)
		}
		if h, err := decodeHead(Position{1, 1}, b); err == nil && h.Messages < 1 {
			t.Fatalf("a head of %d messages", h.Messages)
		}
	})
}

func TestPositionOrder(t *testing.T) {
	for _, c := range []struct {
		p, q Position
		want bool
	}{
		{Position{1, 2}, Position{1, 3}, true},
		{Position{1, 3}, Position{1, 3}, false},
		{Position{1, 9}, Position{2, 0}, true},
		{Earliest, Position{0, 0}, true},
		{Position{5, 5}, Latest, true},
	} {
		if got := c.p.before(c.q); got != c.want {
			t.Errorf("%v before %v = %v", c.p, c.q, got)
		}
	}
}

// bigBatch is an entry of n messages of 5 bytes, as the broker stores it.
func bigBatch(n int, index int64) []byte {
	e := NewEntry(n * 16)
	for i := range n {
		e.Add(&Message{Payload: []byte(fmt.Sprintf("m%04d", i))})
	}
	return stored(index, e.metadata("producer", 0, 5000), e.payload)
}

// readAll reads entries whole batches of n messages on r, slowly, counting them in consumed.
func readAll(t *testing.T, r *Reader, entries, n int, consumed *atomic.Int64) <-chan error {
	done := make(chan error, 1)
	go func() {
		for i := range entries * n {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			m, err := r.Next(ctx)
			cancel()
			if err == nil && (m.Pos != Position{7, int64(i / n)} || m.BatchIdx != int32(i%n)) {
				err = fmt.Errorf("message %d read at %v/%d", i, m.Pos, m.BatchIdx)
			}
			if err != nil {
				done <- err
				return
			}
			if i%n == n-1 {
				consumed.Add(1)
				time.Sleep(time.Millisecond) // slower than the broker
			}
		}
		done <- nil
	}()
	return done
}

// dispatch plays Pulsar's dispatcher for a non-durable reader: on permits it reads as many
// entries as it has permits (up to a hundred), sends them all, takes each one's messages off
// the permits, and reads again while some are left. It returns the most entries that were
// sent and not yet read at once.
func dispatch(t *testing.T, b *fakeBroker, entries, n int, consumed *atomic.Int64, done <-chan error) int64 {
	avail, sent, most := 0, 0, int64(0)
	for {
		select {
		case f := <-b.flows:
			avail += int(f.permits)
		case <-b.acks:
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			if sent != entries {
				t.Fatalf("read everything with %d of %d entries sent", sent, entries)
			}
			return most
		case <-time.After(10 * time.Second):
			t.Fatalf("stuck after %d entries sent, %d read, %d permits", sent, consumed.Load(), avail)
		}
		for avail > 0 && sent < entries {
			read := min(avail, 100, entries-sent)
			for range read {
				b.deliver(0, Position{7, int64(sent)}, bigBatch(n, int64((sent+1)*n-1)))
				sent++
				avail -= n
				most = max(most, int64(sent)-consumed.Load())
			}
		}
	}
}

// Permits count messages but a broker reads entries by them: a reader asks for entries, so
// batches of fifty messages do not bring it fifty times the entries it wants, however far its
// window has grown.
func TestAReaderAsksForEntriesNotMessages(t *testing.T) {
	const entries, n, queue = 60, 50, 16
	b := newBroker(t)
	r := openReader(t, b, Position{7, 0}, queue)
	var consumed atomic.Int64
	// At most the queue, and the entry being read.
	if most := dispatch(t, b, entries, n, &consumed, readAll(t, r, entries, n, &consumed)); most > queue+1 {
		t.Fatalf("%d entries in flight at once, over the queue of %d and the one being read", most, queue)
	}
}

// Its bytes bound a reader too: however long its queue, it wants no more entries than its
// share of bytes buys at their average size (after the first few).
func TestAReaderHoldsNoMoreThanItsBytesBuy(t *testing.T) {
	const entries, n = 60, 50
	b := newBroker(t)
	c, err := NewClient(b.url(), "", 5*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	c.readerBytes = 3 * len(bigBatch(n, 0))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := c.Reader(ctx, "persistent://t/n/topic", Position{7, 0}, 500)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	var consumed atomic.Int64
	// The first window (before any size is known), then 3 and the one being read.
	if most := dispatch(t, b, entries, n, &consumed, readAll(t, r, entries, n, &consumed)); most > firstWindow {
		t.Fatalf("%d entries in flight at once; want at most the %d of the first window, then 3 and the one being read", most, firstWindow)
	}
	// And while the client's readers together hold over their budget, each wants one entry.
	avg := len(bigBatch(n, 0))
	if k := r.wanted(avg); k != 3 {
		t.Fatalf("wants %d entries, want 3", k)
	}
	c.held.Store(c.clientBytes + 1)
	if k := r.wanted(avg); k != 1 {
		t.Fatalf("wants %d entries with the client over its budget, want 1", k)
	}
}

// The window starts at a few entries and doubles each time Next finds nothing waiting once
// something arrived, up to the queue: an idle reader holds little, a busy one prefetches its
// whole queue.
func TestReaderWindowGrowsWhenReadFast(t *testing.T) {
	b := newBroker(t)
	r := openReader(t, b, Earliest, 20)
	if f := waitFlow(t, b); f.permits != 4 {
		t.Fatalf("first flow %+v, want 4 permits", f)
	}
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Next(gone); err == nil || r.window != 4 {
		t.Fatalf("an empty read before any entry: %v, window %d; want the first window kept", err, r.window)
	}
	b.deliver(0, Position{7, 0}, batchEntry(0, 1))
	next(t, r)
	next(t, r)
	var got []int
	for range 4 {
		select { // a wake-up left from the entry's arrival would let one call grow twice
		case <-r.wake:
		default:
		}
		if _, err := r.Next(gone); err == nil {
			t.Fatal("read with nothing sent")
		}
		got = append(got, r.window)
	}
	if !reflect.DeepEqual(got, []int{8, 16, 20, 20}) {
		t.Fatalf("windows %v, want [8 16 20 20]", got)
	}
	// The broker was asked for the entries wanted, half a window at a time: the 2 permits
	// of the entry read, then 4 and 8 as the window grew; at 20 it still had 16 of them.
	var flows []uint64
	for {
		select {
		case f := <-b.flows:
			flows = append(flows, f.permits)
			continue
		case <-time.After(100 * time.Millisecond):
		}
		break
	}
	if !reflect.DeepEqual(flows, []uint64{2, 4, 8}) {
		t.Fatalf("flows %v after the first, want [2 4 8]", flows)
	}
}

// A probe (a queue of one) asks for no entry beyond the one it reads.
func TestAProbeAsksForNoMoreThanItReads(t *testing.T) {
	b := newBroker(t)
	r := openReader(t, b, Position{7, 0}, 1)
	if f := waitFlow(t, b); f.permits != 1 {
		t.Fatalf("first flow %+v", f)
	}
	b.deliver(0, Position{7, 0}, batchEntry(0, 1))
	if m := next(t, r); string(m.Payload()) != "first0" {
		t.Fatalf("read %q", m.Payload())
	}
	select {
	case f := <-b.flows:
		t.Fatalf("a probe asked for more: %+v", f)
	case <-time.After(100 * time.Millisecond):
	}
}

// An entry over the frame limit is skipped and fails its reader alone: a producer on the same
// connection goes on.
func TestAnOversizedEntryFailsOnlyItsReader(t *testing.T) {
	b := newBroker(t)
	c, p := producer(t, b.url(), 5*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := c.Reader(ctx, "persistent://t/n/other", Earliest, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	big := stored(9, putVarint(putVarint(putString(nil, 1, "p"), 2, 0), 3, 1), make([]byte, maxFrame+1))
	b.deliver(0, Position{7, 0}, big)
	if _, err := r.Next(ctx); err == nil || !strings.Contains(err.Error(), "over the") {
		t.Fatalf("next: %v, want the entry refused as over the limit", err)
	}
	results := make(chan result, 2)
	sendAll(p, 1, results)
	b.waitArrived(t, 1)
	b.ack(0)
	if res := <-results; res.err != nil {
		t.Fatalf("the producer on the connection failed: %v", res.err)
	}
}
