package load

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The versions the scenarios ask for: served by both the reference (which caps them) and
// Kafka 3.9, and the newest before topic ids (Fetch v13) and batched coordinators
// (FindCoordinator v4) change the requests' shape. Conn.Version lowers them for an older server.
const (
	metadataVersion        = 7
	produceVersion         = 7
	fetchVersion           = 11
	createTopicsVersion    = 4
	findCoordinatorVersion = 2
	joinGroupVersion       = 5
	syncGroupVersion       = 3
	heartbeatVersion       = 3
	leaveGroupVersion      = 3
)

// apiError is a Kafka error code in an API's answer.
type apiError struct {
	api  string
	code *kerr.Error
}

func (e *apiError) Error() string { return e.api + ": " + e.code.Message }
func (e *apiError) Unwrap() error { return e.code }

func codeError(api string, code int16) error {
	ke, ok := kerr.ErrorForCode(code).(*kerr.Error)
	if !ok {
		return fmt.Errorf("%s: error code %d", api, code)
	}
	return &apiError{api, ke}
}

// kind names an error at a stage for the counts of error kinds: the API and Kafka's code
// name, or what happened on the wire, without the addresses or numbers that would make each
// one distinct.
func kind(stage string, err error) string {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae.Error()
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return stage + ": timed out"
	case errors.Is(err, context.Canceled):
		return stage + ": canceled"
	}
	s := strings.ToLower(err.Error())
	for _, known := range []string{"connection refused", "connection reset", "broken pipe", "eof", "too many open files", "cannot assign requested address"} {
		if strings.Contains(s, known) {
			return stage + ": " + known
		}
	}
	if len(s) > 60 {
		s = s[:60]
	}
	return stage + ": " + s
}

// metadataAll asks for every topic (the answer's size is then Conn.LastSize).
func (c *Conn) metadataAll(ctx context.Context) (*kmsg.MetadataResponse, error) {
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = nil // all
	resp, err := c.versioned(ctx, req, metadataVersion)
	if err != nil {
		return nil, err
	}
	return resp.(*kmsg.MetadataResponse), nil
}

// metadataOf asks for the named topics, without creating them.
func (c *Conn) metadataOf(ctx context.Context, topics ...string) (*kmsg.MetadataResponse, error) {
	req := kmsg.NewPtrMetadataRequest()
	for _, t := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(t)
		req.Topics = append(req.Topics, rt)
	}
	resp, err := c.versioned(ctx, req, metadataVersion)
	if err != nil {
		return nil, err
	}
	return resp.(*kmsg.MetadataResponse), nil
}

// createTopics creates topics of partitions each; the answer's code per topic, where
// TOPIC_ALREADY_EXISTS counts as made.
func (c *Conn) createTopics(ctx context.Context, partitions int32, topics ...string) (map[string]error, error) {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 60000
	for _, t := range topics {
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = t, partitions, 1
		req.Topics = append(req.Topics, rt)
	}
	resp, err := c.versioned(ctx, req, createTopicsVersion)
	if err != nil {
		return nil, err
	}
	out := make(map[string]error, len(topics))
	for _, t := range resp.(*kmsg.CreateTopicsResponse).Topics {
		if t.ErrorCode != 0 && t.ErrorCode != kerr.TopicAlreadyExists.Code {
			out[t.Topic] = codeError("CreateTopics", t.ErrorCode)
		} else {
			out[t.Topic] = nil
		}
	}
	return out, nil
}

// ensureTopic creates topic with partitions unless it exists, and waits until Metadata shows
// every partition led (Kafka elects leaders after answering CreateTopics).
func ensureTopic(ctx context.Context, addr, topic string, partitions int32) error {
	c, err := Dial(ctx, addr, "kop-load-admin")
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.ApiVersions(ctx); err != nil {
		return err
	}
	codes, err := c.createTopics(ctx, partitions, topic)
	if err != nil {
		return err
	}
	if err := codes[topic]; err != nil {
		return err
	}
	for {
		md, err := c.metadataOf(ctx, topic)
		if err != nil {
			return err
		}
		if len(md.Topics) == 1 && md.Topics[0].ErrorCode == 0 && len(md.Topics[0].Partitions) == int(partitions) && led(md.Topics[0]) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("topic %s not ready: %w", topic, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func led(t kmsg.MetadataResponseTopic) bool {
	for _, p := range t.Partitions {
		if p.ErrorCode != 0 || p.Leader < 0 {
			return false
		}
	}
	return true
}

// produceOne writes one record to a partition (acks all) and returns its offset.
func (c *Conn) produceOne(ctx context.Context, topic string, partition int32, value []byte, timeout time.Duration) (int64, error) {
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = -1, int32(timeout.Milliseconds())
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = partition, recordBatch(value, time.Now())
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := c.versioned(ctx, req, produceVersion)
	if err != nil {
		return -1, err
	}
	r := resp.(*kmsg.ProduceResponse)
	if len(r.Topics) != 1 || len(r.Topics[0].Partitions) != 1 {
		return -1, errors.New("produce: an answer without the partition")
	}
	p := r.Topics[0].Partitions[0]
	if p.ErrorCode != 0 {
		return -1, codeError("Produce", p.ErrorCode)
	}
	return p.BaseOffset, nil
}

// fetchFrom reads a partition from offset; it fails unless a record batch comes back.
func (c *Conn) fetchFrom(ctx context.Context, topic string, partition int32, offset int64) error {
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID, req.MaxWaitMillis, req.MinBytes, req.MaxBytes = -1, 500, 1, 1<<20
	req.SessionEpoch = -1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = partition, offset, 1<<20
	rp.CurrentLeaderEpoch, rp.LogStartOffset = -1, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := c.versioned(ctx, req, fetchVersion)
	if err != nil {
		return err
	}
	r := resp.(*kmsg.FetchResponse)
	if r.ErrorCode != 0 {
		return codeError("Fetch", r.ErrorCode)
	}
	if len(r.Topics) != 1 || len(r.Topics[0].Partitions) != 1 {
		return errors.New("fetch: an answer without the partition")
	}
	p := r.Topics[0].Partitions[0]
	if p.ErrorCode != 0 {
		return codeError("Fetch", p.ErrorCode)
	}
	if len(p.RecordBatches) == 0 {
		return errors.New("fetch: no records at the offset just produced")
	}
	return nil
}

// recordBatch is a v2 record batch of one record: no key, value, no headers, uncompressed,
// not idempotent.
func recordBatch(value []byte, ts time.Time) []byte {
	var rec []byte
	rec = append(rec, 0)             // attributes
	rec = kbin.AppendVarlong(rec, 0) // timestamp delta
	rec = kbin.AppendVarint(rec, 0)  // offset delta
	rec = kbin.AppendVarint(rec, -1) // null key
	rec = kbin.AppendVarint(rec, int32(len(value)))
	rec = append(rec, value...)
	rec = kbin.AppendVarint(rec, 0) // no headers
	records := kbin.AppendVarint(nil, int32(len(rec)))
	records = append(records, rec...)

	b := kmsg.RecordBatch{PartitionLeaderEpoch: -1, Magic: 2, LastOffsetDelta: 0,
		FirstTimestamp: ts.UnixMilli(), MaxTimestamp: ts.UnixMilli(), ProducerID: -1, ProducerEpoch: -1,
		FirstSequence: -1, NumRecords: 1, Records: records}
	raw := b.AppendTo(nil)
	// Length counts what follows it; the CRC (Castagnoli) what follows the CRC.
	kbin.AppendInt32(raw[8:8], int32(len(raw)-12))
	crc := crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli))
	kbin.AppendInt32(raw[17:17], int32(crc))
	return raw
}
