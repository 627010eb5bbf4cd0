package server

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/records"
)

// Requests and record batches as clients send them, one topic and partition at a time.

// batch describes a produced record batch: its values (timestamps 1000, 1001, ...), codec
// and, for idempotent producers, producer id, epoch and first sequence.
type batch struct {
	values []string
	codec  int16
	pid    int64
	epoch  int16
	seq    int32
}

// batchOf is an uncompressed batch of a producer that is not idempotent.
func batchOf(values ...string) batch { return batch{values: values, pid: -1, epoch: -1, seq: -1} }

// encode is the batch on the wire, with a correct CRC.
func (b batch) encode(t testing.TB) []byte {
	recs := make([]records.Record, len(b.values))
	for i, v := range b.values {
		recs[i] = records.Record{Offset: int64(i), Timestamp: 1000 + int64(i), Key: []byte("k"), Value: []byte(v)}
	}
	var rb kmsg.RecordBatch
	if err := rb.ReadFrom(records.AppendBatch(nil, recs)); err != nil {
		t.Fatal(err)
	}
	rb.ProducerID, rb.ProducerEpoch, rb.FirstSequence = b.pid, b.epoch, b.seq
	rb.Attributes |= b.codec
	rb.Records = compress(t, b.codec, rb.Records)
	rb.Length = int32(len(rb.AppendTo(nil)) - 12)
	return withCRC(rb.AppendTo(nil))
}

// withCRC sets a v2 batch's CRC (Castagnoli, over everything after the CRC field).
func withCRC(raw []byte) []byte {
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return raw
}

func compress(t testing.TB, codec int16, src []byte) []byte {
	switch codec {
	case records.CodecGzip:
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write(src)
		w.Close()
		return buf.Bytes()
	case records.CodecZstd:
		enc, err := zstd.NewWriter(nil)
		if err != nil {
			t.Fatal(err)
		}
		defer enc.Close()
		return enc.EncodeAll(src, nil)
	}
	return src
}

func produceReq(topic string, partition int32, acks int16, raw []byte) *kmsg.ProduceRequest {
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = acks, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = partition, raw
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

func fetchReq(topic string, partition int32, offset int64) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.MinBytes, req.MaxBytes = 1, 1<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = partition, offset, 1<<20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

func listOffsetsReq(topic string, partition int32, timestamp int64) *kmsg.ListOffsetsRequest {
	req := kmsg.NewPtrListOffsetsRequest()
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition, rp.Timestamp, rp.MaxNumOffsets = partition, timestamp, 5
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

func epochReq(topic string, partition, current, epoch int32) *kmsg.OffsetForLeaderEpochRequest {
	req := kmsg.NewPtrOffsetForLeaderEpochRequest()
	rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
	rp.Partition, rp.CurrentLeaderEpoch, rp.LeaderEpoch = partition, current, epoch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

func deleteRecordsReq(topic string, partition int32, offset int64) *kmsg.DeleteRecordsRequest {
	req := kmsg.NewPtrDeleteRecordsRequest()
	req.TimeoutMillis = 5000
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewDeleteRecordsRequestTopicPartition()
	rp.Partition, rp.Offset = partition, offset
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

// commitReq is a standalone commit (no member, generation -1) of offset with metadata "md".
func commitReq(group, topic string, partition int32, offset int64) *kmsg.OffsetCommitRequest {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group = group
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset, rp.LeaderEpoch, rp.Metadata = partition, offset, 0, kmsg.StringPtr("md")
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

// metadataReq asks for the named topics, or for all of them when none is named.
func metadataReq(topics ...string) *kmsg.MetadataRequest {
	req := kmsg.NewPtrMetadataRequest()
	for _, t := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(t)
		req.Topics = append(req.Topics, rt)
	}
	return req
}

func createTopicReq(topic string, partitions int32, replication int16) *kmsg.CreateTopicsRequest {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 5000
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, partitions, replication
	req.Topics = append(req.Topics, rt)
	return req
}

func deleteTopicsReq(topics ...string) *kmsg.DeleteTopicsRequest {
	req := kmsg.NewPtrDeleteTopicsRequest()
	req.TimeoutMillis, req.TopicNames = 5000, topics
	return req
}

func createPartitionsReq(topic string, count int32) *kmsg.CreatePartitionsRequest {
	req := kmsg.NewPtrCreatePartitionsRequest()
	req.TimeoutMillis = 5000
	rt := kmsg.NewCreatePartitionsRequestTopic()
	rt.Topic, rt.Count = topic, count
	req.Topics = append(req.Topics, rt)
	return req
}

func describeConfigsReq(typ kmsg.ConfigResourceType, name string, configs ...string) *kmsg.DescribeConfigsRequest {
	req := kmsg.NewPtrDescribeConfigsRequest()
	rr := kmsg.NewDescribeConfigsRequestResource()
	rr.ResourceType, rr.ResourceName = typ, name
	if len(configs) > 0 {
		rr.ConfigNames = configs
	}
	req.Resources = append(req.Resources, rr)
	return req
}

// The one partition (or topic) of single-topic responses.

func produced(r kmsg.Response) kmsg.ProduceResponseTopicPartition {
	return r.(*kmsg.ProduceResponse).Topics[0].Partitions[0]
}

func fetched(r kmsg.Response) kmsg.FetchResponseTopicPartition {
	return r.(*kmsg.FetchResponse).Topics[0].Partitions[0]
}

func listed(r kmsg.Response) kmsg.ListOffsetsResponseTopicPartition {
	return r.(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0]
}

func epochOf(r kmsg.Response) kmsg.OffsetForLeaderEpochResponseTopicPartition {
	return r.(*kmsg.OffsetForLeaderEpochResponse).Topics[0].Partitions[0]
}

func deleted(r kmsg.Response) kmsg.DeleteRecordsResponseTopicPartition {
	return r.(*kmsg.DeleteRecordsResponse).Topics[0].Partitions[0]
}

func committed(r kmsg.Response) kmsg.OffsetCommitResponseTopicPartition {
	return r.(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0]
}

// values decodes fetched record batches into "offset:value" strings.
func values(t testing.TB, raw []byte) []string {
	t.Helper()
	batches, err := records.Decode(raw, 1<<20)
	if err != nil {
		t.Fatalf("fetched batches: %v", err)
	}
	var out []string
	for _, b := range batches {
		for _, r := range b.Records {
			out = append(out, fmt.Sprintf("%s@%d", r.Value, b.Header.FirstOffset+r.Offset))
		}
	}
	return out
}
