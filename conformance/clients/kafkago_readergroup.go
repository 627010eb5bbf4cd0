package clients

import (
	"context"
	"sync"

	kafka "github.com/segmentio/kafka-go"
)

// kafkaGoReaderMember is a kafka.Reader with a GroupID, what most kafka-go applications run
// for a group: the Reader joins, fetches its partitions and commits through CommitMessages,
// and exposes no assignment.
type kafkaGoReaderMember struct {
	kafkaGoFeed
	r      *kafka.Reader
	cancel context.CancelFunc
	done   chan struct{}

	closeOnce sync.Once
	cut       *cutter
}

func (k *kafkaGo) readerMember(cg kafka.ConsumerGroupConfig, cut *cutter) (GroupConsumer, error) {
	rc := k.readerConfig(ConsumeConfig{}, cg.Dialer)
	rc.GroupID, rc.GroupTopics, rc.GroupBalancers = cg.ID, cg.Topics, cg.GroupBalancers
	rc.SessionTimeout, rc.HeartbeatInterval, rc.RebalanceTimeout = cg.SessionTimeout, cg.HeartbeatInterval, cg.RebalanceTimeout
	rc.JoinGroupBackoff, rc.StartOffset = cg.JoinGroupBackoff, cg.StartOffset
	// CommitInterval 0: CommitMessages commits synchronously and returns the commit's error.
	r, err := newKafkaGoReader(rc)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &kafkaGoReaderMember{kafkaGoFeed: newKafkaGoFeed(), r: r, cancel: cancel, done: make(chan struct{}), cut: cut}
	go m.run(ctx, cg.ID)
	return m, nil
}

// run moves the Reader's messages to Poll. FetchMessage returns the group's errors (after the
// Reader's MaxAttempts tries to join) as well as its partitions' (see readerConfig).
func (m *kafkaGoReaderMember) run(ctx context.Context, group string) {
	defer close(m.done)
	m.pump(ctx, m.r, "kafka-go reader in group "+group)
}

// Assigned is nil: a Reader does not expose its assignment.
func (m *kafkaGoReaderMember) Assigned() map[string][]int32 { return nil }

// Commit commits through CommitMessages, which commits a message's Offset+1 (the next offset to
// read) for its partition: each offset is passed as a message one before it. kafka-go commits
// no metadata.
func (m *kafkaGoReaderMember) Commit(ctx context.Context, offsets []Offset) error {
	msgs := make([]kafka.Message, len(offsets))
	for i, o := range offsets {
		msgs[i] = kafka.Message{Topic: o.Topic, Partition: int(o.Partition), Offset: o.Offset - 1}
	}
	return m.r.CommitMessages(ctx, msgs...)
}

func (m *kafkaGoReaderMember) Vanish() { m.cut.Cut() }

func (m *kafkaGoReaderMember) Close() {
	m.closeOnce.Do(func() {
		m.cancel()
		<-m.done
		m.r.Close() // ends the generation, waits for the partition readers, and leaves the group
	})
}
