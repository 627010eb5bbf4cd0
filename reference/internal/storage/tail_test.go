package storage

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/kop-conformance/kop-conformance/reference/internal/partition"
	"github.com/kop-conformance/kop-conformance/reference/internal/pulsarwire"
)

// tailMessage is a message at an entry with a broker index.
type tailMessage struct {
	pulsar.Message
	id    pulsar.MessageID
	index uint64
	props map[string]string
}

func (m tailMessage) ID() pulsar.MessageID          { return m.id }
func (m tailMessage) Index() *uint64                { return &m.index }
func (m tailMessage) BrokerPublishTime() *time.Time { t := time.UnixMilli(1); return &t }
func (m tailMessage) Properties() map[string]string { return m.props }
func (m tailMessage) Payload() []byte               { return []byte("v") }
func (m tailMessage) Key() string                   { return "" }
func (m tailMessage) EventTime() time.Time          { return time.UnixMilli(5) }
func (m tailMessage) PublishTime() time.Time        { return time.UnixMilli(5) }

func msgAt(ledger, entry int64, index uint64) tailMessage {
	return tailMessage{id: pulsar.NewMessageID(ledger, entry, -1, -1), index: index}
}

// fakeTail plays a reader: it hands out msgs, then fails with err (or, without one, waits).
type fakeTail struct {
	msgs []message
	err  error
}

func (r *fakeTail) HasNext() bool { return len(r.msgs) > 0 }
func (r *fakeTail) Close()        {}
func (r *fakeTail) Next(ctx context.Context) (message, error) {
	if len(r.msgs) > 0 {
		m := r.msgs[0]
		r.msgs = r.msgs[1:]
		return m, nil
	}
	if r.err != nil {
		return nil, r.err
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

// A tail reader that stops is opened again at the last entry it saw, and the partition keeps
// learning new entries (before, it stopped for good: no produce got its offset again).
func TestTailReaderReopensAfterItStops(t *testing.T) {
	s := testStore()
	s.cfg.OperationTimeout = time.Second
	var (
		mu     sync.Mutex
		starts []pulsar.MessageID
	)
	readers := []*fakeTail{
		{msgs: []message{msgAt(7, 3, 4)}, err: errors.New("consumer closed")},
		{msgs: []message{msgAt(7, 3, 4), msgAt(7, 4, 5)}},
	}
	s.newTail = func(_ string, start pulsar.MessageID) (tailReader, error) {
		mu.Lock()
		defer mu.Unlock()
		starts = append(starts, start)
		if len(starts) > len(readers) {
			return nil, errors.New("no more readers")
		}
		return readers[len(starts)-1], nil
	}
	p := newPartition(s, partition.TP{Topic: "t"})
	defer p.close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		ch := p.Changed()
		hwm, err := p.HighWatermark(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if hwm == 6 {
			break
		}
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("high watermark stuck at %d after the tail reader stopped; want 6", hwm)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(starts) != 2 || starts[1].LedgerID() != 7 || starts[1].EntryID() != 3 {
		t.Fatalf("readers opened at %v; want the second at the last entry seen, 7:3", starts)
	}
}

// A partition that could not be opened is opened again on its next use.
func TestFailedPartitionIsOpenedAgain(t *testing.T) {
	s := testStore()
	s.parts = map[partition.TP]*Partition{}
	s.cfg.OperationTimeout = time.Second
	fail := true
	s.newTail = func(string, pulsar.MessageID) (tailReader, error) {
		if fail {
			return nil, errors.New("connection refused")
		}
		return &fakeTail{}, nil
	}
	tp := partition.TP{Topic: "t"}
	p1, _ := s.Partition(tp)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := p1.HighWatermark(ctx); err == nil {
		t.Fatal("a partition whose reader cannot be opened served a high watermark")
	}
	fail = false
	p2, _ := s.Partition(tp)
	if p2 == p1 {
		t.Fatal("the failed partition was handed out again")
	}
	if hwm, err := p2.HighWatermark(ctx); err != nil || hwm != 0 {
		t.Fatalf("reopened partition: high watermark %d, %v", hwm, err)
	}
	p2.(*Partition).close()
}

func TestProducerPropertyRoundTrip(t *testing.T) {
	for _, p := range []partition.Producer{{ID: 1, Epoch: 0, FirstSeq: 0, LastSeq: 9}, {ID: 1<<62 + 5, Epoch: 32767, FirstSeq: 2147483600, LastSeq: 7}} {
		got, ok := decodeProducer(encodeProducer(&p))
		if !ok || *got != p {
			t.Errorf("%+v read back as %+v, %v", p, got, ok)
		}
	}
	for _, bad := range []string{"", "1/2/3", "x/0/0/0", "-1/0/0/0", "1/70000/0/0", "1/0/0/0/0"} {
		if p, ok := decodeProducer(bad); ok {
			t.Errorf("%q read as producer %+v", bad, p)
		}
	}
}

func TestLastEntry(t *testing.T) {
	for _, c := range []struct {
		ls   []Ledger
		want entryKey
		ok   bool
	}{
		{nil, entryKey{}, false},
		{[]Ledger{{ID: 3, Entries: 0}}, entryKey{}, false},
		{[]Ledger{{ID: 3, Entries: 10}, {ID: 5, Entries: 0}}, entryKey{3, 9}, true},
		{[]Ledger{{ID: 3, Entries: 10}, {ID: 5, Entries: 2}}, entryKey{5, 1}, true},
	} {
		got, ok := lastEntry(c.ls)
		if got != c.want || ok != c.ok {
			t.Errorf("lastEntry(%v) = %v, %v; want %v, %v", c.ls, got, ok, c.want, c.ok)
		}
	}
}

// A batch Pulsar acknowledged without a position (a resent entry it deduplicated) is found by
// its write id, whether the tail saw it before or after the answer came.
func TestOffsetOfWriteFindsADeduplicatedBatch(t *testing.T) {
	p := blankPartition(testStore(), partition.TP{Topic: "t"})
	seen := tailMessage{id: pulsar.NewMessageID(3, 1, 0, -1), index: 12, props: map[string]string{propWrite: "a1"}}
	if err := p.observe(seen); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if got, err := p.offsetOfWrite(ctx, 0xa1); err != nil || got != 12 {
		t.Fatalf("a write seen before: offset %d, %v; want 12", got, err)
	}
	done := make(chan int64)
	go func() {
		got, _ := p.offsetOfWrite(ctx, 0xb2)
		done <- got
	}()
	for waiting := false; !waiting; time.Sleep(time.Millisecond) { // observe the wait before the write arrives
		if ctx.Err() != nil {
			t.Fatal("the lookup never waited")
		}
		p.mu.Lock()
		waiting = len(p.writeWaiters[0xb2]) == 1
		p.mu.Unlock()
	}
	later := tailMessage{id: pulsar.NewMessageID(3, 2, 0, -1), index: 20, props: map[string]string{propWrite: "b2"}}
	if err := p.observe(later); err != nil {
		t.Fatal(err)
	}
	if got := <-done; got != 20 {
		t.Fatalf("a write seen after: offset %d; want 20", got)
	}
	short, stop := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer stop()
	if _, err := p.offsetOfWrite(short, 0xc3); err == nil {
		t.Fatal("a write never seen was found")
	}
}

// gapReader is a fetch reader that hands out its messages and records whether it was closed.
type gapReader struct {
	reader
	msgs   []message
	closed bool
}

func (r *gapReader) Next(ctx context.Context) (message, error) {
	if len(r.msgs) == 0 {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	m := r.msgs[0]
	r.msgs = r.msgs[1:]
	return m, nil
}
func (r *gapReader) Close() { r.closed = true }

// A reader that jumps over offsets (a reconnected Pulsar reader resuming after what it had
// prefetched) is dropped: the fetch gets the records before the gap, never the ones after it.
func TestReadNeverServesAGap(t *testing.T) {
	s := testStore()
	s.cfg.OperationTimeout = time.Second
	p := blankPartition(s, partition.TP{Topic: "t"})
	p.hwm = 10
	close(p.run.ready)
	r := &gapReader{msgs: []message{msgAt(5, 0, 0), msgAt(5, 1, 1), msgAt(5, 4, 4)}}
	p.idle = []*cursor{{r: r, next: 0}}
	bs, err := p.Read(context.Background(), 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, b := range bs {
		for _, rec := range b.Records {
			got = append(got, rec.Offset)
		}
	}
	if len(got) != 2 || got[0] != 0 || got[1] != 1 {
		t.Fatalf("read offsets %v; want [0 1], stopping before the gap", got)
	}
	if !r.closed || len(p.idle) != 0 {
		t.Fatalf("the reader that jumped was kept (closed %v, idle %d)", r.closed, len(p.idle))
	}
}

// A gap that a fresh reader jumps too is in the log (Pulsar's index skipped numbers): it is
// served, as Kafka serves a log with gaps, and remembered so the next read needs no second
// reader.
func TestReadServesAGapInTheLog(t *testing.T) {
	s := testStore()
	s.cfg.OperationTimeout = time.Second
	opened := 0
	s.newReader = func(string, pulsar.MessageID, int) (reader, error) {
		opened++
		return &gapReader{msgs: []message{msgAt(5, 0, 0), msgAt(5, 1, 1), msgAt(5, 2, 4), msgAt(5, 3, 5)}}, nil
	}
	p := blankPartition(s, partition.TP{Topic: "t"})
	p.hwm = 6
	p.firstStored = 0
	close(p.run.ready)
	p.idle = []*cursor{{r: &gapReader{msgs: []message{msgAt(5, 2, 4), msgAt(5, 3, 5)}}, next: 2}}
	offsets := func(bs []partition.Batch) (out []int64) {
		for _, b := range bs {
			for _, r := range b.Records {
				out = append(out, r.Offset)
			}
		}
		return out
	}
	bs, err := p.Read(context.Background(), 2, 1<<20)
	if got := offsets(bs); err != nil || len(got) != 2 || got[0] != 4 || got[1] != 5 {
		t.Fatalf("read at 2: %v, %v; want [4 5] (the log has no 2 and 3)", got, err)
	}
	if opened != 1 {
		t.Fatalf("%d fresh readers opened; want 1 to tell a gap in the log from a reader's jump", opened)
	}
	bs, err = p.Read(context.Background(), 2, 1<<20)
	if got := offsets(bs); err != nil || len(got) != 2 || got[0] != 4 || opened != 2 {
		t.Fatalf("read at 2 again: %v, %v, %d readers opened; want [4 5] through one new reader", got, err, opened)
	}
}

// A tail that fails again as soon as it is opened (an entry it cannot read) is reopened with
// a growing pause, not in a hot loop.
func TestATailThatKeepsFailingBacksOff(t *testing.T) {
	s := testStore()
	s.cfg.OperationTimeout = time.Second
	var opens atomic.Int32
	s.newTail = func(string, pulsar.MessageID) (tailReader, error) {
		opens.Add(1)
		return &fakeTail{err: errors.New("entry 7:3 of t: checksum mismatch")}, nil
	}
	p := newPartition(s, partition.TP{Topic: "t"})
	time.Sleep(time.Second) // the pause under test: count the opens in a second
	p.close()
	// 0, 0.2, 0.6 and 1.2 s: at most 4 opens in the first second (thousands without the pause).
	if n := opens.Load(); n < 2 || n > 5 {
		t.Fatalf("%d opens in a second, want 2 to 5", n)
	}
}

// fakeHeads plays the gateway's own reader, read by heads: it hands out heads, then waits.
type fakeHeads struct {
	t     *testing.T
	heads []*pulsarwire.Head
}

func (r *fakeHeads) HasNext() bool { return len(r.heads) > 0 }
func (r *fakeHeads) Close()        {}
func (r *fakeHeads) Next(context.Context) (message, error) {
	r.t.Error("a tail that can read heads decoded messages")
	return nil, errors.New("not read by messages")
}
func (r *fakeHeads) NextHead(ctx context.Context) (*pulsarwire.Head, error) {
	if len(r.heads) > 0 {
		h := r.heads[0]
		r.heads = r.heads[1:]
		return h, nil
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

// A tail that reads whole entries' heads learns what it learned from their messages: each
// entry's first offset, the write id it carries, the high watermark, the tip and the latest
// publish time; an entry without an index is logged and passed over.
func TestTheTailLearnsFromHeads(t *testing.T) {
	s := testStore()
	s.cfg.OperationTimeout = time.Second
	heads := &fakeHeads{t: t, heads: []*pulsarwire.Head{
		{Pos: pulsarwire.Position{Ledger: 7, Entry: 3}, Messages: 3, Index: 4, HasIndex: true, Published: 100},
		{Pos: pulsarwire.Position{Ledger: 7, Entry: 4}, Messages: 1},
		{Pos: pulsarwire.Position{Ledger: 7, Entry: 5}, Messages: 2, Index: 6, HasIndex: true, Published: 200, BrokerAt: 900,
			Props: map[string]string{propWrite: "c3"}},
	}}
	s.newTail = func(string, pulsar.MessageID) (tailReader, error) { return heads, nil }
	p := newPartition(s, partition.TP{Topic: "t"})
	defer p.close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if got, err := p.offsetOfWrite(ctx, 0xc3); err != nil || got != 5 {
		t.Fatalf("the write id of entry 7:5: offset %d, %v; want 5", got, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	first3, ok3 := p.entries.Get(entryKey{7, 3})
	first5, ok5 := p.entries.Get(entryKey{7, 5})
	if !ok3 || first3 != 2 || !ok5 || first5 != 5 || p.hwm != 7 || p.seenHWM != 7 {
		t.Fatalf("learned 7:3 at %d (%v), 7:5 at %d (%v), high watermark %d (seen %d); want 2, 5 and 7",
			first3, ok3, first5, ok5, p.hwm, p.seenHWM)
	}
	if !p.tipKnown || p.tip != (entryKey{7, 5}) || p.tipNext != 7 || p.lastPublish != 900 {
		t.Fatalf("tip %v (known %v) next %d, last publish %d; want 7:5, 7 and the broker's 900", p.tip, p.tipKnown, p.tipNext, p.lastPublish)
	}
}
