package storage

// Log starts moved by DeleteRecords.
//
// Kafka's DeleteRecords moves a partition's log start offset; the records below it can no
// longer be read. The gateway does not remove them from Pulsar (Pulsar's retention governs the
// bytes, and a Pulsar topic cannot drop a prefix of its entries on demand): it keeps, per
// partition, the offset records were deleted up to, and a partition's log start is the larger of
// its first stored offset and that offset.
//
// Those offsets live in Pulsar, never only in memory: in a compacted topic of the gateway's
// internal namespace (__kop_log_start, package naming), one message per change, key "<kafka topic>/<partition>", value
// the offset in decimal; an empty value deletes the key (a deleted topic). Every gateway reads
// the topic from the start (compacted) when it starts and keeps following it, so a DeleteRecords
// answered by one gateway is seen by the others within a message's delivery time, and a restart
// loses nothing. A write returns once Pulsar acknowledged it and this gateway's reader has
// applied it, so the gateway that answered a DeleteRecords reads its own write at once. The
// offset for a key only ever grows (concurrent DeleteRecords merge to the largest) until the
// key is deleted. A lookup is a map access: nothing is scanned.

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/kop-conformance/kop-conformance/reference/internal/partition"
)

// syncKey marks the message a gateway writes when it starts, to know when its reader has
// caught up; it names no partition.
const syncKey = "sync"

// position orders the messages of one Pulsar topic.
type position struct{ ledger, entry, batch int64 }

func positionOf(id pulsar.MessageID) position {
	b := int64(id.BatchIdx())
	if b < 0 {
		b = 0 // unbatched: the producer says -1, the reader 0
	}
	return position{id.LedgerID(), id.EntryID(), b}
}

func (a position) less(b position) bool {
	if a.ledger != b.ledger {
		return a.ledger < b.ledger
	}
	if a.entry != b.entry {
		return a.entry < b.entry
	}
	return a.batch < b.batch
}

// logStartKey is the key of a partition's log start message.
func logStartKey(tp partition.TP) string { return tp.Topic + "/" + strconv.Itoa(int(tp.Partition)) }

// parseLogStartKey reads a key written by logStartKey. Kafka topic names cannot contain '/'.
func parseLogStartKey(k string) (partition.TP, bool) {
	i := strings.LastIndexByte(k, '/')
	if i <= 0 {
		return partition.TP{}, false
	}
	p, err := strconv.ParseInt(k[i+1:], 10, 32)
	if err != nil || p < 0 {
		return partition.TP{}, false
	}
	return partition.TP{Topic: k[:i], Partition: int32(p)}, true
}

// logStartTable is the state the topic holds: the deleted-up-to offset of every partition that
// has one, as of the last message applied. It is what the reader maintains; tests drive it
// directly.
type logStartTable struct {
	mu      sync.Mutex
	offsets map[string]map[int32]int64
	seen    position
	applied bool          // any message applied (seen is meaningful)
	changed chan struct{} // closed and replaced whenever seen advances
}

func newLogStartTable() *logStartTable {
	return &logStartTable{offsets: map[string]map[int32]int64{}, changed: make(chan struct{})}
}

// apply folds one message of the topic into the table. It returns false for a message that
// names no partition or carries no offset (it still counts as seen).
func (t *logStartTable) apply(key string, value []byte, at position) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.applied || t.seen.less(at) {
		t.seen, t.applied = at, true
		close(t.changed)
		t.changed = make(chan struct{})
	}
	tp, ok := parseLogStartKey(key)
	if !ok {
		return key == syncKey
	}
	if len(value) == 0 {
		if parts := t.offsets[tp.Topic]; parts != nil {
			delete(parts, tp.Partition)
			if len(parts) == 0 {
				delete(t.offsets, tp.Topic)
			}
		}
		return true
	}
	off, err := strconv.ParseInt(string(value), 10, 64)
	if err != nil || off < 0 {
		return false
	}
	parts := t.offsets[tp.Topic]
	if parts == nil {
		parts = map[int32]int64{}
		t.offsets[tp.Topic] = parts
	}
	if off > parts[tp.Partition] {
		parts[tp.Partition] = off
	}
	return true
}

// get is the offset tp's records were deleted up to (0: none).
func (t *logStartTable) get(tp partition.TP) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.offsets[tp.Topic][tp.Partition]
}

// partitions lists the partitions of topic that have an entry.
func (t *logStartTable) partitions(topic string) []int32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]int32, 0, len(t.offsets[topic]))
	for p := range t.offsets[topic] {
		out = append(out, p)
	}
	return out
}

// waitSeen returns once the message at pos (or a later one) has been applied.
func (t *logStartTable) waitSeen(ctx context.Context, pos position) error {
	for {
		t.mu.Lock()
		done := t.applied && !t.seen.less(pos)
		ch := t.changed
		t.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for the log start topic to deliver our write: %w", ctx.Err())
		}
	}
}

// logStarts is the table kept current from the Pulsar topic, and the producer that writes it.
type logStarts struct {
	topic    string
	producer pulsar.Producer
	reader   pulsar.Reader
	table    *logStartTable
	log      *slog.Logger
	cancel   context.CancelFunc
	done     chan struct{}
}

// openLogStarts reads the topic from the start and returns once every message written before
// the call has been applied.
func openLogStarts(ctx context.Context, client pulsar.Client, topic string, log *slog.Logger) (*logStarts, error) {
	prod, err := client.CreateProducer(pulsar.ProducerOptions{
		Topic:           topic,
		DisableBatching: true, // rare, small writes; one message per entry keeps positions simple
		SendTimeout:     30 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("log start producer on %s: %w", topic, err)
	}
	r, err := client.CreateReader(pulsar.ReaderOptions{
		Topic:          topic,
		StartMessageID: pulsar.EarliestMessageID(),
		ReadCompacted:  true,
	})
	if err != nil {
		prod.Close()
		return nil, fmt.Errorf("log start reader on %s: %w", topic, err)
	}
	rctx, cancel := context.WithCancel(context.Background())
	l := &logStarts{topic: topic, producer: prod, reader: r, table: newLogStartTable(), log: log,
		cancel: cancel, done: make(chan struct{})}
	go l.follow(rctx)
	// Caught up means: the reader has passed a message written now. (HasNext is not used: on a
	// compacted topic whose last messages were deletions it can report data that never comes.)
	id, err := prod.Send(ctx, &pulsar.ProducerMessage{Key: syncKey, Payload: []byte(time.Now().UTC().Format(time.RFC3339Nano))})
	if err == nil {
		err = l.table.waitSeen(ctx, positionOf(id))
	}
	if err != nil {
		l.close()
		return nil, fmt.Errorf("reading %s: %w", topic, err)
	}
	return l, nil
}

func (l *logStarts) follow(ctx context.Context) {
	defer close(l.done)
	for {
		msg, err := l.reader.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			l.log.Error("log start reader", "topic", l.topic, "err", err)
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
				return
			}
			continue
		}
		if !l.table.apply(msg.Key(), msg.Payload(), positionOf(msg.ID())) {
			l.log.Warn("log start topic: skipping a message that names no partition", "key", msg.Key())
		}
	}
}

// set records that tp's records are deleted up to offset: it returns once Pulsar acknowledged
// the write and this gateway applied it.
func (l *logStarts) set(ctx context.Context, tp partition.TP, offset int64) error {
	id, err := l.producer.Send(ctx, &pulsar.ProducerMessage{Key: logStartKey(tp), Payload: []byte(strconv.FormatInt(offset, 10))})
	if err != nil {
		return fmt.Errorf("writing the log start of %s/%d: %w", tp.Topic, tp.Partition, err)
	}
	return l.table.waitSeen(ctx, positionOf(id))
}

// forget deletes every entry of topic (the topic was deleted, or is being created afresh). No
// entry, no write.
func (l *logStarts) forget(ctx context.Context, topic string) error {
	parts := l.table.partitions(topic)
	if len(parts) == 0 {
		return nil
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		last  position
		first error
	)
	wg.Add(len(parts))
	for _, p := range parts {
		l.producer.SendAsync(ctx, &pulsar.ProducerMessage{Key: logStartKey(partition.TP{Topic: topic, Partition: p}), Payload: []byte{}},
			func(id pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
				mu.Lock()
				if err != nil && first == nil {
					first = err
				} else if err == nil && last.less(positionOf(id)) {
					last = positionOf(id)
				}
				mu.Unlock()
				wg.Done()
			})
	}
	ferr := l.producer.FlushWithCtx(ctx)
	wg.Wait()
	if first == nil {
		first = ferr
	}
	if first != nil {
		return fmt.Errorf("deleting the log starts of %s: %w", topic, first)
	}
	return l.table.waitSeen(ctx, last)
}

func (l *logStarts) close() {
	l.cancel()
	l.reader.Close()
	<-l.done
	l.producer.Close()
}
