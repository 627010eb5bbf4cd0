package clients

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/conformance/levelproxy"
	"github.com/kop-conformance/kop-conformance/matrix/dims"
)

// wantCode fails the test unless err carries the Kafka code want (0: no error).
func wantCode(t *testing.T, what string, err error, want int16) {
	t.Helper()
	if got := ErrorCode(err); got != want {
		t.Errorf("%s: %v (code %d), want code %d", what, err, got, want)
	}
}

// TestAdminTopics creates, grows, describes and deletes topics with each adapter, and checks
// the codes of what Kafka refuses. A change is read back by a fresh client: kafka-go's Client
// answers metadata from its transport's cache for up to its MetadataTTL (the suite waits).
func TestAdminTopics(t *testing.T) {
	eachKind(t, dims.Clients(), []string{"1.0", "2.6"}, func(t *testing.T, f fixture) {
		topic := f.topic(2)
		if n, err := f.cl.TopicPartitions(f.ctx, topic); err != nil || n != 2 {
			t.Fatalf("partitions %d, %v; want 2", n, err)
		}
		wantCode(t, "creating it again", f.cl.CreateTopic(f.ctx, topic, 1), kerr.TopicAlreadyExists.Code)
		wantCode(t, "growing to 4 partitions", f.cl.CreatePartitions(f.ctx, topic, 4), 0)
		if n, err := f.open(f.kind, func(*Target) {}).TopicPartitions(f.ctx, topic); err != nil || n != 4 {
			t.Errorf("partitions after growing %d, %v; want 4", n, err)
		}
		wantCode(t, "shrinking to 3", f.cl.CreatePartitions(f.ctx, topic, 3), kerr.InvalidPartitions.Code)
		if cfg, err := f.cl.TopicConfigs(f.ctx, topic, []string{"cleanup.policy"}); err != nil || cfg["cleanup.policy"] != "delete" || len(cfg) != 1 {
			t.Errorf("configs %v, %v; want cleanup.policy=delete only", cfg, err)
		}

		missing := topic + "-missing"
		_, err := f.cl.TopicPartitions(f.ctx, missing)
		wantCode(t, "metadata of a missing topic", err, kerr.UnknownTopicOrPartition.Code)
		wantCode(t, "deleting a missing topic", f.cl.DeleteTopic(f.ctx, missing), kerr.UnknownTopicOrPartition.Code)
		wantCode(t, "growing a missing topic", f.cl.CreatePartitions(f.ctx, missing, 2), kerr.UnknownTopicOrPartition.Code)
		_, err = f.cl.TopicConfigs(f.ctx, missing, []string{"cleanup.policy"})
		wantCode(t, "configs of a missing topic", err, kerr.UnknownTopicOrPartition.Code)

		wantCode(t, "deleting the topic", f.cl.DeleteTopic(f.ctx, topic), 0)
		_, err = f.open(f.kind, func(*Target) {}).TopicPartitions(f.ctx, topic)
		wantCode(t, "metadata of the deleted topic", err, kerr.UnknownTopicOrPartition.Code)
	})
}

// TestOffsets lists offsets (earliest, latest, by timestamp across batches) and commits and
// fetches a group's offsets from outside it, with metadata, also backwards.
func TestOffsets(t *testing.T) {
	eachKind(t, dims.Clients(), []string{"1.0", "2.6"}, func(t *testing.T, f fixture) {
		topic := f.topic(2)
		list := func(partition int32, query, want int64) {
			t.Helper()
			if got, err := f.cl.ListOffset(f.ctx, topic, partition, query); err != nil || got != want {
				t.Errorf("ListOffset(%d, %d) = %d, %v; want %d", partition, query, got, err, want)
			}
		}
		list(0, Earliest, 0)
		list(0, Latest, 0)
		// Three batches of four records; record i has timestamp base + i seconds.
		base := time.UnixMilli(time.Now().Add(-2 * time.Hour).UnixMilli())
		for b := 0; b < 3; b++ {
			recs := sampleRecords(topic, 4)
			for j := range recs {
				recs[j].Timestamp = base.Add(time.Duration(4*b+j) * time.Second)
			}
			f.produce(recs)
		}
		list(0, Earliest, 0)
		list(0, Latest, 12)
		list(1, Latest, 0)
		ms := func(d time.Duration) int64 { return base.Add(d).UnixMilli() }
		for _, c := range []struct {
			at, want int64
		}{
			{ms(-time.Minute), 0}, {ms(3 * time.Second), 3}, {ms(3500 * time.Millisecond), 4},
			{ms(9*time.Second + time.Millisecond), 10}, {ms(11 * time.Second), 11}, {ms(11*time.Second + time.Millisecond), -1},
		} {
			list(0, c.at, c.want)
		}

		group := "g-" + topic
		f.makeGroup(group, topic)
		commit := func(offs ...Offset) {
			t.Helper()
			if err := f.cl.CommitOffsets(f.ctx, group, offs); err != nil {
				t.Fatal(err)
			}
		}
		fetch := func(n int32, want ...Offset) {
			t.Helper()
			if got, err := f.cl.FetchOffsets(f.ctx, group, topic, n); err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("fetched %v, %v; want %v", got, err, want)
			}
		}
		commit(Offset{Topic: topic, Partition: 0, Offset: 5, Metadata: "checkpoint-a"}, Offset{Topic: topic, Partition: 1, Offset: 7})
		fetch(2, Offset{Topic: topic, Partition: 0, Offset: 5, Metadata: "checkpoint-a"}, Offset{Topic: topic, Partition: 1, Offset: 7})
		commit(Offset{Topic: topic, Partition: 0, Offset: 2, Metadata: "rewind"})
		fetch(1, Offset{Topic: topic, Partition: 0, Offset: 2, Metadata: "rewind"})
	})
}

// TestRecordDeleter moves a partition's log start with the adapters that have DeleteRecords.
func TestRecordDeleter(t *testing.T) {
	eachKind(t, []string{dims.FranzGo, dims.Sarama}, []string{"1.0", "2.6"}, func(t *testing.T, f fixture) {
		del, ok := f.cl.(RecordDeleter)
		if !ok {
			t.Fatal("no RecordDeleter")
		}
		topic := f.topic(1)
		f.produce(sampleRecords(topic, 10))
		deleteTo := func(before, want int64) {
			t.Helper()
			if got, err := del.DeleteRecords(f.ctx, topic, 0, before); err != nil || got != want {
				t.Errorf("DeleteRecords(%d) = %d, %v; want log start %d", before, got, err, want)
			}
		}
		deleteTo(4, 4)
		if got, err := f.cl.ListOffset(f.ctx, topic, 0, Earliest); err != nil || got != 4 {
			t.Errorf("earliest offset %d, %v; want 4", got, err)
		}
		deleteTo(-1, 10)
		_, err := del.DeleteRecords(f.ctx, topic, 0, 50)
		wantCode(t, "deleting past the high watermark", err, kerr.OffsetOutOfRange.Code)
	})
}

// TestLeaderEpochs asks OffsetForLeaderEpoch with franz-go, the adapter that has it (at 2.6:
// kfake serves no version of it that level 1.0 has).
func TestLeaderEpochs(t *testing.T) {
	eachKind(t, []string{dims.FranzGo}, []string{testLevel}, func(t *testing.T, f fixture) {
		le := f.cl.(LeaderEpochs)
		topic := f.topic(1)
		f.produce(sampleRecords(topic, 5))
		ask := func(current, epoch int32, wantEnd int64, wantCode int16) {
			t.Helper()
			_, end, code, err := le.OffsetForLeaderEpoch(f.ctx, topic, 0, current, epoch)
			if err != nil || end != wantEnd || code != wantCode {
				t.Errorf("OffsetForLeaderEpoch(current %d, epoch %d) = end %d code %d, %v; want end %d code %d", current, epoch, end, code, err, wantEnd, wantCode)
			}
		}
		ask(-1, 0, 5, 0)
		ask(-1, 1, -1, 0)
		ask(0, 0, 5, 0)
		ask(7, 0, -1, kerr.UnknownLeaderEpoch.Code) // a current epoch from the future (KIP-320)
	})
}

// TestAutoCreateTopic has each adapter make the broker create a topic by asking for it, and
// return the partition count the broker gave it.
func TestAutoCreateTopic(t *testing.T) {
	eachKind(t, dims.Clients(), []string{testLevel}, func(t *testing.T, f fixture) {
		n, err := f.cl.(AutoCreator).AutoCreateTopic(f.ctx, "auto-"+f.topic(1))
		if err != nil || n != 3 {
			t.Errorf("auto-created with %d partitions, %v; want the broker's default 3", n, err)
		}
	}, kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(3))
}

// TestIdempotentProduce loses the first Produce response on the way back (a level proxy in
// front of the cluster): the idempotent producers retry the batch with its producer id and
// sequence, and the broker writes it once. kafka-go has no idempotent producer and says so.
func TestIdempotentProduce(t *testing.T) {
	eachKind(t, dims.Clients(), []string{testLevel}, func(t *testing.T, f fixture) {
		topic := f.topic(1)
		px, addr, err := levelproxy.Start(f.c.ListenAddrs()[0], f.level)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(px.Close)
		viaProxy := f.open(f.kind, func(tg *Target) { tg.Bootstrap, tg.Levels = addr, map[string]string{f.level: addr} })
		inits := observe(f.c, kmsg.InitProducerID, func(kmsg.Request) bool { return true })
		px.DropProduceResponses(1)
		want := sampleRecords(topic, 10)
		produced, err := viaProxy.Produce(f.ctx, ProduceConfig{Acks: AcksAll, Idempotent: true}, want)
		if f.kind == dims.KafkaGo {
			if err == nil || px.Dropped() != 0 {
				t.Errorf("kafka-go produced idempotently (%v) or sent a Produce", err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if px.Dropped() != 1 || len(inits.all()) == 0 {
			t.Fatalf("%d responses lost, %d InitProducerId requests: want 1 and some", px.Dropped(), len(inits.all()))
		}
		for i, r := range produced {
			if r.Offset != int64(i) {
				t.Errorf("record %d produced at %d", i, r.Offset)
			}
		}
		if end, err := f.cl.ListOffset(f.ctx, topic, 0, Latest); err != nil || end != 10 {
			t.Errorf("log end %d, %v; want 10: the retried batch was written once", end, err)
		}
		back, err := f.cl.Consume(f.ctx, ConsumeConfig{}, topic, 0, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range back {
			if d := sameRecord(r, want[i], int64(i), false); d != "" {
				t.Errorf("record %d: %s", i, d)
			}
		}
	})
}
