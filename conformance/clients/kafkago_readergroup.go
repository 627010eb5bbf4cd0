package clients

import (
	"context"

	kafka "github.com/segmentio/kafka-go"
)

// kafkaGoReaderMember is a kafka.Reader with a GroupID, what most kafka-go applications run
// for a group: the Reader joins, fetches its partitions and commits through CommitMessages,
// and exposes no assignment. Closing the Reader (when its loop ends) ends the generation, waits
// for the partition readers, and leaves the group.
type kafkaGoReaderMember struct {
	*member
	*feed
	r *kafka.Reader
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
	m := &kafkaGoReaderMember{member: newMember(cut), feed: newFeed(), r: r}
	// FetchMessage returns the group's errors (after the Reader's MaxAttempts tries to join)
	// as well as its partitions' (see readerConfig).
	m.start(func(ctx context.Context) {
		defer r.Close()
		kafkaGoPump(ctx, m.feed, r, "kafka-go reader in group "+cg.ID)
	})
	return m, nil
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
