package server

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Offsets of partition 0 holding "a", "b", "c" (timestamps 1000-1002) with its log start at
// 1, in ListOffsets, OffsetForLeaderEpoch and DeleteRecords.

func (e *env) threeRecordsFromOne() {
	e.appendValues(0, "a", "b", "c")
	if err := e.log(0).DeleteBefore(context.Background(), 1); err != nil {
		e.t.Fatal(err)
	}
}

func TestListOffsets(t *testing.T) {
	// listsAt is a case asking for timestamp ts: offset and timestamp (v1+), or the old-style
	// offsets (v0).
	listsAt := func(ts, offset, found int64, oldStyle ...int64) func(*testing.T, *env, int16) {
		return func(t *testing.T, e *env, v int16) {
			e.threeRecordsFromOne()
			r := listed(e.dial().do(listOffsetsReq(topic, 0, ts), v))
			wantCode(t, "list offsets", r.ErrorCode, nil)
			if v == 0 {
				if !reflect.DeepEqual(r.OldStyleOffsets, oldStyle) {
					t.Errorf("old-style offsets %v, want %v", r.OldStyleOffsets, oldStyle)
				}
			} else if r.Offset != offset || r.Timestamp != found || v >= 4 && r.LeaderEpoch != -1 {
				t.Errorf("offset %d timestamp %d epoch %d; want %d, %d, -1", r.Offset, r.Timestamp, r.LeaderEpoch, offset, found)
			}
		}
	}
	forVersions(t, kmsg.ListOffsets, []versionCase{
		{name: "latest is the high watermark", run: listsAt(-1, 3, -1, 3, 1)},
		{name: "earliest is the log start", run: listsAt(-2, 1, -1, 1)},
		{name: "a timestamp finds the first record at or after it", run: listsAt(1002, 2, 1002, 2)},
		{name: "a timestamp never finds a record below the log start", run: listsAt(0, 1, 1001, 1)},
		{name: "a timestamp after every record is offset -1", run: listsAt(5000, -1, -1)},
		{name: "v0 answers at most max_num_offsets", below: 1, run: func(t *testing.T, e *env, v int16) {
			e.threeRecordsFromOne()
			req := listOffsetsReq(topic, 0, -1)
			req.Topics[0].Partitions[0].MaxNumOffsets = 1
			if r := listed(e.dial().do(req, v)); !reflect.DeepEqual(r.OldStyleOffsets, []int64{3}) {
				t.Errorf("old-style offsets %v, want [3]", r.OldStyleOffsets)
			}
		}},
		{name: "a failing log is KAFKA_STORAGE_ERROR", run: func(t *testing.T, e *env, v int16) {
			e.logs.Fail(errors.New("bookies down"))
			wantCode(t, "list offsets", listed(e.dial().do(listOffsetsReq(topic, 0, -1), v)).ErrorCode, kerr.KafkaStorageError)
		}},
	})
}

func TestOffsetForLeaderEpoch(t *testing.T) {
	// answers is a case asking for epoch with current as the client's current epoch.
	answers := func(current, epoch int32, want *kerr.Error, wantEpoch int32, wantEnd int64) func(*testing.T, *env, int16) {
		return func(t *testing.T, e *env, v int16) {
			e.threeRecordsFromOne()
			r := epochOf(e.dial().do(epochReq(topic, 0, current, epoch), v))
			wantCode(t, "offset for leader epoch", r.ErrorCode, want)
			if r.EndOffset != wantEnd || v >= 1 && r.LeaderEpoch != wantEpoch {
				t.Errorf("epoch %d end offset %d, want %d, %d", r.LeaderEpoch, r.EndOffset, wantEpoch, wantEnd)
			}
		}
	}
	forVersions(t, kmsg.OffsetForLeaderEpoch, []versionCase{
		{name: "epoch 0 ends at the high watermark", run: answers(-1, 0, nil, 0, 3)},
		{name: "an undefined epoch is -1/-1", run: answers(-1, -1, nil, -1, -1)},
		{name: "an epoch never had is -1/-1", run: answers(-1, 4, nil, -1, -1)},
		{name: "an epoch older than any ends at the log start", run: answers(-1, -5, nil, -5, 1)},
		{name: "a stale current epoch is FENCED_LEADER_EPOCH", from: 2, run: answers(-2, 0, kerr.FencedLeaderEpoch, -1, -1)},
		{name: "a future current epoch is UNKNOWN_LEADER_EPOCH", from: 2, run: answers(1, 0, kerr.UnknownLeaderEpoch, -1, -1)},
		{name: "the current epoch is not checked before v2", below: 2, run: answers(1, 0, nil, 0, 3)},
		{name: "a failing log is KAFKA_STORAGE_ERROR", run: func(t *testing.T, e *env, v int16) {
			e.logs.Fail(errors.New("bookies down"))
			wantCode(t, "offset for leader epoch", epochOf(e.dial().do(epochReq(topic, 0, -1, 0), v)).ErrorCode, kerr.KafkaStorageError)
		}},
	})
}

func TestDeleteRecords(t *testing.T) {
	// deletes is a case deleting up to offset: the answer, and the log start after it.
	deletes := func(offset int64, want *kerr.Error, low, logStart int64) func(*testing.T, *env, int16) {
		return func(t *testing.T, e *env, v int16) {
			e.threeRecordsFromOne()
			r := deleted(e.dial().do(deleteRecordsReq(topic, 0, offset), v))
			wantCode(t, "delete records", r.ErrorCode, want)
			ls, _ := e.log(0).LogStart(context.Background())
			if r.LowWatermark != low || ls != logStart {
				t.Errorf("low watermark %d, log start %d; want %d, %d", r.LowWatermark, ls, low, logStart)
			}
		}
	}
	forVersions(t, kmsg.DeleteRecords, []versionCase{
		{name: "moves the log start", run: deletes(2, nil, 2, 2)},
		{name: "-1 deletes up to the high watermark", run: deletes(-1, nil, 3, 3)},
		{name: "at or below the log start nothing moves", run: deletes(0, nil, 1, 1)},
		{name: "above the high watermark is OFFSET_OUT_OF_RANGE", run: deletes(4, kerr.OffsetOutOfRange, -1, 1)},
		{name: "a negative offset other than -1 is OFFSET_OUT_OF_RANGE", run: deletes(-2, kerr.OffsetOutOfRange, -1, 1)},
		{name: "a failing log is KAFKA_STORAGE_ERROR", run: func(t *testing.T, e *env, v int16) {
			e.logs.Fail(errors.New("bookies down"))
			wantCode(t, "delete records", deleted(e.dial().do(deleteRecordsReq(topic, 0, -1), v)).ErrorCode, kerr.KafkaStorageError)
		}},
		{name: "a log start not stored within the timeout is REQUEST_TIMED_OUT", opts: []envOpt{stuckDeletes}, run: timesOut},
		{name: "a lookup outlasting the timeout is REQUEST_TIMED_OUT", opts: []envOpt{stuckLookups}, run: timesOut},
	})
}

// timesOut deletes records with a 1 ms timeout and expects REQUEST_TIMED_OUT.
func timesOut(t *testing.T, e *env, v int16) {
	req := deleteRecordsReq(topic, 0, 2)
	req.TimeoutMillis = 1
	e.threeRecordsFromOne()
	wantCode(t, "delete records", deleted(e.dial().do(req, v)).ErrorCode, kerr.RequestTimedOut)
}

// stuckDeletes makes DeleteBefore wait until its request gives up, as a Pulsar that does not
// acknowledge the new log start.
func stuckDeletes(s *setup) {
	s.hooks.deleteBefore = func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
}
