package server

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/records"
)

// appendValues stores one batch of values in partition p, as a producer would.
func (e *env) appendValues(p int32, vals ...string) {
	recs := make([]records.Record, len(vals))
	for i, v := range vals {
		recs[i] = records.Record{Timestamp: 1000 + int64(i), Value: []byte(v)}
	}
	if _, err := e.log(p).Append(context.Background(), recs, nil); err != nil {
		e.t.Fatal(err)
	}
}

// longPoll is a fetch at offset 0 of partition 0 that waits up to wait for minBytes.
func longPoll(wait time.Duration, minBytes int32) *kmsg.FetchRequest {
	req := fetchReq(topic, 0, 0)
	req.MaxWaitMillis, req.MinBytes = int32(wait.Milliseconds()), minBytes
	return req
}

func wantValues(t testing.TB, got []string, want ...string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("records %v, want %v", got, want)
	}
}

func TestFetch(t *testing.T) {
	watched := []envOpt{watchReads}
	forVersions(t, kmsg.Fetch, []versionCase{
		{name: "reads from any offset, mid-batch too", run: func(t *testing.T, e *env, v int16) {
			e.appendValues(0, "a", "b", "c")
			e.appendValues(0, "d")
			r := fetched(e.dial().do(fetchReq(topic, 0, 1), v))
			wantCode(t, "fetch", r.ErrorCode, nil)
			wantValues(t, values(t, r.RecordBatches), "b@1", "c@2", "d@3")
			if r.HighWatermark != 4 || r.LastStableOffset != 4 || v >= 5 && r.LogStartOffset != 0 {
				t.Errorf("high watermark %d, last stable %d, log start %d; want 4, 4, 0", r.HighWatermark, r.LastStableOffset, r.LogStartOffset)
			}
		}},
		{name: "outside [log start, high watermark] is OFFSET_OUT_OF_RANGE", run: func(t *testing.T, e *env, v int16) {
			e.appendValues(0, "a", "b", "c")
			e.log(0).DeleteBefore(context.Background(), 1)
			c := e.dial()
			for offset, want := range map[int64]*kerr.Error{0: kerr.OffsetOutOfRange, 1: nil, 3: nil, 4: kerr.OffsetOutOfRange} {
				r := fetched(c.do(fetchReq(topic, 0, offset), v))
				wantCode(t, "fetch", r.ErrorCode, want)
				if v >= 5 && r.ErrorCode == 0 && r.LogStartOffset != 1 {
					t.Errorf("log start %d, want 1", r.LogStartOffset)
				}
			}
		}},
		{name: "a partition's first record comes even when over the limits (KIP-74)", run: func(t *testing.T, e *env, v int16) {
			e.appendValues(0, "first", "second")
			e.appendValues(1, "other")
			req := fetchReq(topic, 0, 0)
			req.Topics[0].Partitions[0].PartitionMaxBytes = 1
			p1 := kmsg.NewFetchRequestTopicPartition()
			p1.Partition, p1.PartitionMaxBytes = 1, 1<<20
			req.Topics[0].Partitions = append(req.Topics[0].Partitions, p1)
			req.MaxBytes = 1
			resp := e.dial().do(req, v).(*kmsg.FetchResponse)
			wantValues(t, values(t, resp.Topics[0].Partitions[0].RecordBatches), "first@0")
			wantValues(t, values(t, resp.Topics[0].Partitions[1].RecordBatches)) // response max bytes spent
		}},
		{name: "a parked fetch is woken by new records", opts: watched, run: func(t *testing.T, e *env, v int16) {
			c := e.dial()
			corr := c.send(longPoll(30*time.Second, 1), v)
			<-e.reads // the fetch read an empty partition: it waits, or is about to
			e.appendValues(0, "late")
			wantValues(t, values(t, fetched(c.recv(longPoll(0, 0), v, corr)).RecordBatches), "late@0")
		}},
		{name: "records stored between a fetch's read and its wait wake it", opts: []envOpt{appendAfterFirstRead("late")},
			run: func(t *testing.T, e *env, v int16) {
				wantValues(t, values(t, fetched(e.dial().do(longPoll(30*time.Second, 1), v)).RecordBatches), "late@0")
			}},
		{name: "a parked fetch waits for min bytes", opts: watched, run: func(t *testing.T, e *env, v int16) {
			c := e.dial()
			one := records.AppendBatch(nil, []records.Record{{Timestamp: 1000, Value: []byte("x")}})
			corr := c.send(longPoll(30*time.Second, int32(len(one)+1)), v)
			<-e.reads
			e.appendValues(0, "x")
			<-e.reads // woken, read one record, too few bytes: waits again
			e.appendValues(0, "y")
			wantValues(t, values(t, fetched(c.recv(longPoll(0, 0), v, corr)).RecordBatches), "x@0", "y@1")
		}},
		{name: "without new records a fetch answers empty after max wait", run: func(t *testing.T, e *env, v int16) {
			start := time.Now()
			r := fetched(e.dial().do(longPoll(20*time.Millisecond, 1), v))
			if took := time.Since(start); r.ErrorCode != 0 || len(r.RecordBatches) != 0 || took < 20*time.Millisecond {
				t.Errorf("%v with %d bytes after %v; want an empty answer after max wait", kerr.ErrorForCode(r.ErrorCode), len(r.RecordBatches), took)
			}
		}},
		{name: "a failed partition answers at once", run: func(t *testing.T, e *env, v int16) {
			req := longPoll(time.Minute, 1)
			bad := kmsg.NewFetchRequestTopicPartition()
			bad.Partition = nParts
			req.Topics[0].Partitions = append(req.Topics[0].Partitions, bad)
			resp := e.dial().do(req, v).(*kmsg.FetchResponse) // a wait would outlast the connection's deadline
			wantCode(t, "partition 0", resp.Topics[0].Partitions[0].ErrorCode, nil)
			wantCode(t, "missing partition", resp.Topics[0].Partitions[1].ErrorCode, kerr.UnknownTopicOrPartition)
		}},
		{name: "a failing log is KAFKA_STORAGE_ERROR", run: func(t *testing.T, e *env, v int16) {
			e.logs.Fail(errors.New("bookies down"))
			wantCode(t, "fetch", fetched(e.dial().do(fetchReq(topic, 0, 0), v)).ErrorCode, kerr.KafkaStorageError)
		}},
		{name: "incremental fetch sessions are FETCH_SESSION_ID_NOT_FOUND", from: 7, run: func(t *testing.T, e *env, v int16) {
			req := fetchReq(topic, 0, 0)
			req.SessionID, req.SessionEpoch = 5, 1
			r := e.dial().do(req, v).(*kmsg.FetchResponse)
			wantCode(t, "session epoch 1", r.ErrorCode, kerr.FetchSessionIDNotFound)
		}},
		{name: "no session is kept", from: 7, run: func(t *testing.T, e *env, v int16) {
			req := fetchReq(topic, 0, 0)
			req.SessionEpoch = 0 // asks for a new session
			if r := e.dial().do(req, v).(*kmsg.FetchResponse); r.ErrorCode != 0 || r.SessionID != 0 {
				t.Errorf("%v session %d, want a full response without a session", kerr.ErrorForCode(r.ErrorCode), r.SessionID)
			}
		}},
	})
}
