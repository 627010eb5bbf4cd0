package server

import (
	"context"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Every API that names topics reaches them through one path (topics.go): these are its answers
// for topics and partitions it cannot serve, per API, at every version.

// topicProbe is one API that names topics: a request for one topic and partition, and the code
// its answer carries for them.
type topicProbe struct {
	key  kmsg.Key
	req  func(t testing.TB, topic string, partition int32) kmsg.Request
	code func(kmsg.Response) int16
}

var topicProbes = []topicProbe{
	{kmsg.Produce, func(t testing.TB, topic string, p int32) kmsg.Request {
		return produceReq(topic, p, 1, batchOf("v").encode(t))
	}, func(r kmsg.Response) int16 { return produced(r).ErrorCode }},
	{kmsg.Fetch, func(_ testing.TB, topic string, p int32) kmsg.Request { return fetchReq(topic, p, 0) },
		func(r kmsg.Response) int16 { return fetched(r).ErrorCode }},
	{kmsg.ListOffsets, func(_ testing.TB, topic string, p int32) kmsg.Request { return listOffsetsReq(topic, p, -1) },
		func(r kmsg.Response) int16 { return listed(r).ErrorCode }},
	{kmsg.OffsetForLeaderEpoch, func(_ testing.TB, topic string, p int32) kmsg.Request { return epochReq(topic, p, -1, 0) },
		func(r kmsg.Response) int16 { return epochOf(r).ErrorCode }},
	{kmsg.DeleteRecords, func(_ testing.TB, topic string, p int32) kmsg.Request { return deleteRecordsReq(topic, p, -1) },
		func(r kmsg.Response) int16 { return deleted(r).ErrorCode }},
	{kmsg.OffsetCommit, func(_ testing.TB, topic string, p int32) kmsg.Request { return commitReq("g", topic, p, 1) },
		func(r kmsg.Response) int16 { return committed(r).ErrorCode }},
	{kmsg.Metadata, func(_ testing.TB, topic string, _ int32) kmsg.Request { return metadataReq(topic) },
		func(r kmsg.Response) int16 { return r.(*kmsg.MetadataResponse).Topics[0].ErrorCode }},
	{kmsg.CreateTopics, func(_ testing.TB, topic string, _ int32) kmsg.Request { return createTopicReq(topic, 1, 1) },
		func(r kmsg.Response) int16 { return r.(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode }},
	{kmsg.DeleteTopics, func(_ testing.TB, topic string, _ int32) kmsg.Request { return deleteTopicsReq(topic) },
		func(r kmsg.Response) int16 { return r.(*kmsg.DeleteTopicsResponse).Topics[0].ErrorCode }},
	{kmsg.CreatePartitions, func(_ testing.TB, topic string, _ int32) kmsg.Request { return createPartitionsReq(topic, 5) },
		func(r kmsg.Response) int16 { return r.(*kmsg.CreatePartitionsResponse).Topics[0].ErrorCode }},
	{kmsg.DescribeConfigs, func(_ testing.TB, topic string, _ int32) kmsg.Request {
		return describeConfigsReq(kmsg.ConfigResourceTypeTopic, topic)
	}, func(r kmsg.Response) int16 { return r.(*kmsg.DescribeConfigsResponse).Resources[0].ErrorCode }},
}

// partitionAPIs are the APIs that name partitions; the others name topics only.
var partitionAPIs = []kmsg.Key{kmsg.Produce, kmsg.Fetch, kmsg.ListOffsets, kmsg.OffsetForLeaderEpoch, kmsg.DeleteRecords, kmsg.OffsetCommit}

// answers is the answer per API; an API it does not name does not apply.
type answers map[kmsg.Key]*kerr.Error

// every is the same answer for every API, with exceptions.
func every(keys []kmsg.Key, e *kerr.Error, except answers) answers {
	out := answers{}
	for _, k := range keys {
		out[k] = e
	}
	for k, e := range except {
		out[k] = e
	}
	return out
}

func allProbed() []kmsg.Key {
	keys := make([]kmsg.Key, len(topicProbes))
	for i, p := range topicProbes {
		keys[i] = p.key
	}
	return keys
}

type topicScenario struct {
	name      string
	topic     string
	partition int32
	user      string     // authenticate as user on a SASL listener ("": plaintext, trusted)
	after     func(*env) // runs once the client is connected
	want      answers
}

func TestTopicErrors(t *testing.T) {
	all, unknown := allProbed(), kerr.UnknownTopicOrPartition
	invalidName := every(all, unknown, answers{kmsg.Metadata: kerr.InvalidTopicException,
		kmsg.CreateTopics: kerr.InvalidTopicException, kmsg.DescribeConfigs: kerr.InvalidTopicException})
	denied := every(all, kerr.TopicAuthorizationFailed, answers{kmsg.OffsetCommit: kerr.GroupAuthorizationFailed})
	scenarios := []topicScenario{
		{name: "a topic that does not exist", topic: "nosuch",
			want: every(all, unknown, answers{kmsg.CreateTopics: nil})},
		{name: "a partition the topic does not have", topic: topic, partition: nParts, want: every(partitionAPIs, unknown, nil)},
		{name: "a negative partition", topic: topic, partition: -1, want: every(partitionAPIs, unknown, nil)},
		{name: "a name no topic can have", topic: "no such/name", want: invalidName},
		{name: "the gateway's reserved prefix", topic: "__kop_groups",
			after: func(e *env) { e.catalog.Create(context.Background(), "__kop_groups", 1) }, want: invalidName},
		{name: "the log start topic's name", topic: "__kop_log_start",
			after: func(e *env) { e.catalog.Create(context.Background(), "__kop_log_start", 1) }, want: invalidName},
		{name: "a catalog that cannot be reached", topic: topic,
			after: func(e *env) { e.catalog.Fail(errors.New("admin API down")) },
			want: every(partitionAPIs, kerr.NotLeaderForPartition, answers{
				kmsg.OffsetCommit: kerr.CoordinatorNotAvailable, kmsg.Metadata: kerr.LeaderNotAvailable,
				kmsg.CreateTopics: kerr.RequestTimedOut, kmsg.DeleteTopics: kerr.RequestTimedOut,
				kmsg.CreatePartitions: kerr.RequestTimedOut, kmsg.DescribeConfigs: kerr.RequestTimedOut})},
		{name: "a principal without grants", topic: topic, user: "mallory", want: denied},
		{name: "an authorizer that cannot be reached fails closed", topic: topic, user: "admin",
			after: func(e *env) { e.auth.Fail(errors.New("grants unreadable")) }, want: denied},
		{name: "a principal that may only consume the topic", topic: topic, user: "reader",
			want: every(all, kerr.TopicAuthorizationFailed, answers{kmsg.Fetch: nil, kmsg.ListOffsets: nil,
				kmsg.OffsetForLeaderEpoch: nil, kmsg.Metadata: nil, kmsg.DescribeConfigs: nil,
				kmsg.OffsetCommit: kerr.GroupAuthorizationFailed})},
	}
	for _, p := range topicProbes {
		var cases []versionCase
		for _, sc := range scenarios {
			want, applies := sc.want[p.key]
			if !applies {
				continue
			}
			var opts []envOpt
			if sc.user != "" {
				opts = append(opts, withSASL())
			}
			cases = append(cases, versionCase{name: sc.name, opts: opts, run: func(t *testing.T, e *env, v int16) {
				c := e.dial()
				if sc.user != "" {
					c = e.dialAs(sc.user)
				}
				if sc.after != nil {
					sc.after(e)
				}
				wantCode(t, sc.topic, p.code(c.do(p.req(t, sc.topic, sc.partition), v)), want)
			}})
		}
		t.Run(kmsg.NameForKey(p.key.Int16()), func(t *testing.T) { forVersions(t, p.key, cases) })
	}
}
