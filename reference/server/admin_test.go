package server

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/partition"
	"github.com/kop-conformance/kop-conformance/reference/records"
)

// brokenWrites is a catalog that answers lookups but fails every change, as a Pulsar admin API
// that refuses a write.
type brokenWrites struct{ Catalog }

var errRefused = errors.New("admin API refused the change")

func (brokenWrites) Create(context.Context, string, int32) error { return errRefused }
func (brokenWrites) Delete(context.Context, string) error        { return errRefused }
func (brokenWrites) Grow(context.Context, string, int32) error   { return errRefused }

var refusingWrites = func(s *setup) { s.catalog = func(c Catalog) Catalog { return brokenWrites{c} } }

// slowLookups is a catalog whose lookups wait until their request gives up.
type slowLookups struct{ Catalog }

func (slowLookups) Partitions(ctx context.Context, _ string) (int32, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}

var stuckLookups = func(s *setup) { s.catalog = func(c Catalog) Catalog { return slowLookups{c} } }

// partitionsOf is a topic's partition count in the catalog.
func (e *env) partitionsOf(name string) int32 {
	n, err := e.catalog.Partitions(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// adminAnswer is the code and message of the first topic of an admin API's answer.
func adminAnswer(r kmsg.Response) (int16, *string) {
	switch r := r.(type) {
	case *kmsg.CreateTopicsResponse:
		return r.Topics[0].ErrorCode, r.Topics[0].ErrorMessage
	case *kmsg.DeleteTopicsResponse:
		return r.Topics[0].ErrorCode, r.Topics[0].ErrorMessage
	case *kmsg.CreatePartitionsResponse:
		return r.Topics[0].ErrorCode, r.Topics[0].ErrorMessage
	}
	panic("not an admin answer")
}

// changes is a case sending req: its answer (with a message saying why, from the versions that
// carry one), and the partitions the catalog then has for name.
func changes(req kmsg.Request, want *kerr.Error, why, name string, partitions int32, opts ...envOpt) versionCase {
	return versionCase{opts: opts, run: func(t *testing.T, e *env, v int16) {
		code, msg := adminAnswer(e.dial().do(req, v))
		wantCode(t, name, code, want)
		if want != nil && msg != nil && !strings.Contains(*msg, why) {
			t.Errorf("message %q, want one mentioning %q", *msg, why)
		}
		if n := e.partitionsOf(name); n != partitions {
			t.Errorf("%s has %d partitions, want %d", name, n, partitions)
		}
	}}
}

// named gives a case its name.
func named(name string, c versionCase) versionCase { c.name = name; return c }

// from narrows a case to versions from v on.
func from(v int16, c versionCase) versionCase { c.from = v; return c }

func TestCreateTopics(t *testing.T) {
	twice := createTopicReq("new", 1, 1)
	twice.Topics = append(twice.Topics, twice.Topics[0])
	assigned := createTopicReq("new", 1, 1)
	assigned.Topics[0].ReplicaAssignment = []kmsg.CreateTopicsRequestTopicReplicaAssignment{{Partition: 0, Replicas: []int32{node}}}
	logAppendTime := createTopicReq("new", 1, 1)
	logAppendTime.Topics[0].Configs = []kmsg.CreateTopicsRequestTopicConfig{{Name: "message.timestamp.type", Value: kmsg.StringPtr("LogAppendTime")}}
	validateOnly := createTopicReq("new", 2, 1)
	validateOnly.ValidateOnly = true
	forVersions(t, kmsg.CreateTopics, []versionCase{
		named("creates with the partitions asked", changes(createTopicReq("new", 4, 1), nil, "", "new", 4)),
		from(4, named("-1 partitions and replication are the defaults", changes(createTopicReq("new", -1, -1), nil, "", "new", 3))),
		named("a topic named twice is INVALID_REQUEST", changes(twice, kerr.InvalidRequest, "appears 2 times", "new", 0)),
		named("manual replica assignment is INVALID_REQUEST", changes(assigned, kerr.InvalidRequest, "replica assignment", "new", 0)),
		named("no partitions is INVALID_PARTITIONS", changes(createTopicReq("new", 0, 1), kerr.InvalidPartitions, "at least 1", "new", 0)),
		named("replication above 1 is INVALID_REPLICATION_FACTOR", changes(createTopicReq("new", 1, 3), kerr.InvalidReplicationFactor, "replication factor 3", "new", 0)),
		named("an existing topic is TOPIC_ALREADY_EXISTS", changes(createTopicReq(topic, 5, 1), kerr.TopicAlreadyExists, "already exists", topic, nParts)),
		named("LogAppendTime is INVALID_CONFIG", changes(logAppendTime, kerr.InvalidConfig, "not served", "new", 0)),
		from(1, named("validate_only creates nothing", changes(validateOnly, nil, "", "new", 0))),
		named("a refused creation is UNKNOWN_SERVER_ERROR", changes(createTopicReq("new", 1, 1), kerr.UnknownServerError, errRefused.Error(), "new", 0, refusingWrites)),
		{name: "a new topic starts at log start 0", run: func(t *testing.T, e *env, v int16) {
			old, _ := e.logs.Partition(partition.TP{Topic: "new"}) // left by a topic deleted behind the gateway's back
			old.Append(context.Background(), make([]records.Record, 6), nil)
			old.DeleteBefore(context.Background(), 5)
			if ls, _ := old.LogStart(context.Background()); ls != 5 {
				t.Fatalf("log start before %d", ls)
			}
			if code, _ := adminAnswer(e.dial().do(createTopicReq("new", 1, 1), v)); code != 0 {
				t.Fatal(kerr.ErrorForCode(code))
			}
			if ls, _ := old.LogStart(context.Background()); ls != 0 {
				t.Errorf("log start %d, want 0", ls)
			}
		}},
	})
}

func TestDeleteTopics(t *testing.T) {
	forVersions(t, kmsg.DeleteTopics, []versionCase{
		{name: "deletes the topic, its records and its log starts", run: func(t *testing.T, e *env, v int16) {
			e.threeRecordsFromOne()
			if code, _ := adminAnswer(e.dial().do(deleteTopicsReq(topic), v)); code != 0 || e.partitionsOf(topic) != 0 {
				t.Fatalf("%v, %d partitions left", kerr.ErrorForCode(code), e.partitionsOf(topic))
			}
			e.catalog.Create(context.Background(), topic, 1) // again, under the same name
			hwm, _ := e.log(0).HighWatermark(context.Background())
			ls, _ := e.log(0).LogStart(context.Background())
			if hwm != 0 || ls != 0 {
				t.Errorf("re-created topic at high watermark %d, log start %d; want 0, 0", hwm, ls)
			}
		}},
		named("a refused deletion is UNKNOWN_SERVER_ERROR", changes(deleteTopicsReq(topic), kerr.UnknownServerError, errRefused.Error(), topic, nParts, refusingWrites)),
	})
}

func TestCreatePartitions(t *testing.T) {
	twice := createPartitionsReq(topic, 5)
	twice.Topics = append(twice.Topics, twice.Topics[0])
	assigned := createPartitionsReq(topic, 3)
	assigned.Topics[0].Assignment = []kmsg.CreatePartitionsRequestTopicAssignment{{Replicas: []int32{node}}}
	validateOnly := createPartitionsReq(topic, 5)
	validateOnly.ValidateOnly = true
	forVersions(t, kmsg.CreatePartitions, []versionCase{
		named("grows the topic", changes(createPartitionsReq(topic, 5), nil, "", topic, 5)),
		named("a count not above the current one is INVALID_PARTITIONS", changes(createPartitionsReq(topic, nParts), kerr.InvalidPartitions, "must be larger", topic, nParts)),
		named("a topic named twice is INVALID_REQUEST", changes(twice, kerr.InvalidRequest, "appears 2 times", topic, nParts)),
		named("manual replica assignment is INVALID_REQUEST", changes(assigned, kerr.InvalidRequest, "replica assignment", topic, nParts)),
		named("validate_only grows nothing", changes(validateOnly, nil, "", topic, nParts)),
		named("a refused growth is UNKNOWN_SERVER_ERROR", changes(createPartitionsReq(topic, 5), kerr.UnknownServerError, errRefused.Error(), topic, nParts, refusingWrites)),
	})
}
