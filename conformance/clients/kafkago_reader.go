package clients

import (
	"context"
	"fmt"
	"time"

	kafka "github.com/segmentio/kafka-go"
)

// Reader settings.
const (
	// kafkaGoMaxBytes is the fetch limit unless a spec sets one: above the suite's largest
	// record, so a large record does not depend on KIP-74 alone.
	kafkaGoMaxBytes = 8 << 20
	// kafkaGoFetchWait is the max wait the Readers send unless a spec sets one, short enough to
	// keep specs fast, as the other adapters' 500 ms.
	kafkaGoFetchWait = 500 * time.Millisecond
	// kafkaGoReaderAttempts is how often a Reader tries to (re)connect to a partition's leader
	// before it reports the error (kafka-go's default, spelled out).
	kafkaGoReaderAttempts = 3
)

// kafkaGoReaderWait is the ReaderConfig.MaxWait that makes a Reader send wire as the Fetch max
// wait. The Reader does not send its MaxWait: it sets the connection's read deadline to
// MaxWait and the Conn sends the deadline minus 1 s as the max wait (3/4 of it when under 1 s),
// truncated to milliseconds, so the client keeps 1 s for the response to travel. Asking for
// wire + 1 s + 999 µs sends wire exactly, as long as the microseconds between the Reader
// setting its deadline and writing the request stay under 999.
func kafkaGoReaderWait(wire time.Duration) time.Duration {
	return wire + time.Second + 999*time.Microsecond
}

// readerConfig is a Reader's configuration on k: the level address as the only broker, the
// client's id, TLS and SASL (or dialer, for a group member that can be cut), and cc's fetch
// limits and isolation.
func (k *kafkaGo) readerConfig(cc ConsumeConfig, dialer *kafka.Dialer) kafka.ReaderConfig {
	if dialer == nil {
		dialer = &kafka.Dialer{ClientID: k.clientID, TLS: k.tls, SASLMechanism: k.sasl, Timeout: 10 * time.Second}
	}
	wait := kafkaGoFetchWait
	if cc.MaxWait > 0 {
		wait = cc.MaxWait
	}
	minBytes := 1
	if cc.MinBytes > 0 {
		minBytes = int(cc.MinBytes)
	}
	return kafka.ReaderConfig{
		Brokers:  []string{k.addr},
		Dialer:   dialer,
		MinBytes: minBytes,
		MaxBytes: kafkaGoFetchMax(cc),
		MaxWait:  kafkaGoReaderWait(wait),
		// The Reader's lag goroutine dials the leader every interval to list offsets: requests
		// no spec asked for.
		ReadLagInterval: -1,
		MaxAttempts:     kafkaGoReaderAttempts,
		// Without it a Reader whose offset is past the end of the log retries forever without
		// a word; with it the Reader reports OFFSET_OUT_OF_RANGE and stops reading the partition.
		// (An offset before the log start is moved to the start silently either way.)
		OffsetOutOfRangeError: true,
		IsolationLevel:        kafka.IsolationLevel(cc.Isolation), // both Kafka's numbers
	}
}

// kafkaGoFetchMax is the Reader's MaxBytes: kafka-go has one limit, sent as both the response's
// and the partition's max bytes (plus the size of a fetch response header), so the tighter of
// cc's two applies to both.
func kafkaGoFetchMax(cc ConsumeConfig) int {
	limit := int32(kafkaGoMaxBytes)
	for _, l := range []int32{cc.MaxBytes, cc.PartitionMaxBytes} {
		if l > 0 && l < limit {
			limit = l
		}
	}
	return int(limit)
}

// Consume reads with a kafka.Reader in partition mode from offset. The Reader reports an error
// it cannot get past (after kafkaGoReaderAttempts to reach the leader, an error code from a
// fetch, an offset past the log end) through FetchMessage, and Consume returns the first.
func (k *kafkaGo) Consume(ctx context.Context, cc ConsumeConfig, topic string, partition int32, offset int64, n int) ([]Record, error) {
	out := make([]Record, 0, n)
	if n <= 0 {
		return out, nil
	}
	cfg := k.readerConfig(cc, nil)
	cfg.Topic, cfg.Partition = topic, int(partition)
	r, err := newKafkaGoReader(cfg)
	if err != nil {
		return nil, err
	}
	// Close waits for the Reader's fetch in flight (a long poll of up to the max wait) to
	// come back; the records are in hand by then, so it need not hold up the caller.
	defer func() { go r.Close() }()
	if err := r.SetOffset(offset); err != nil {
		return nil, err
	}
	for len(out) < n {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return out, fmt.Errorf("consumed %d of %d records: %w", len(out), n, ctx.Err())
			}
			return out, fmt.Errorf("kafka-go reader, %s/%d after %d of %d records: %w", topic, partition, len(out), n, err)
		}
		out = append(out, fromKafkaGo(m))
	}
	return out, nil
}

// newKafkaGoReader is kafka.NewReader returning an invalid configuration (say MinBytes above
// MaxBytes) as an error instead of a panic.
func newKafkaGoReader(cfg kafka.ReaderConfig) (*kafka.Reader, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("kafka-go reader: %w", err)
	}
	return kafka.NewReader(cfg), nil
}

// fromKafkaGo converts a message a Reader returned. kafka-go's Reader returns an empty key,
// value or header value as nil, as it returns a null one: it cannot tell them apart.
func fromKafkaGo(m kafka.Message) Record {
	rec := Record{Topic: m.Topic, Partition: int32(m.Partition), Offset: m.Offset, Key: m.Key, Value: m.Value,
		Timestamp: m.Time, HighWatermark: m.HighWaterMark}
	for _, h := range m.Headers {
		rec.Headers = append(rec.Headers, Header{Key: h.Key, Value: h.Value})
	}
	return rec
}
