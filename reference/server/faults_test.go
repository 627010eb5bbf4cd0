package server

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kop-conformance/kop-conformance/reference/faults"
)

// withFault starts the server and its coordinator with a deliberate defect.
func withFault(name string) envOpt {
	return func(s *setup) {
		s.cfg.Faults = faults.Set{name: true}
		s.coord.Faults = s.cfg.Faults
	}
}

// The mutants the server and its coordinator carry (the others live in the command and in
// storage) show their defect in-process, so the suite's mutation check keeps its teeth.
func TestFaultsShowTheirDefect(t *testing.T) {
	cases := []struct {
		fault string
		opts  []envOpt
		shows func(t *testing.T, e *env)
	}{
		{faults.NoLongPoll, nil, func(t *testing.T, e *env) {
			// Without the fault this fetch waits out the connection's deadline.
			wantValues(t, values(t, fetched(e.dial().do(longPoll(time.Minute, 1), 11)).RecordBatches))
		}},
		{faults.NoWake, []envOpt{watchReads}, func(t *testing.T, e *env) {
			c := e.dial()
			start := time.Now()
			corr := c.send(longPoll(50*time.Millisecond, 1), 11)
			<-e.reads
			e.appendValues(0, "late")
			wantValues(t, values(t, fetched(c.recv(longPoll(0, 0), 11, corr)).RecordBatches), "late@0")
			if took := time.Since(start); took < 50*time.Millisecond {
				t.Errorf("answered after %v: the record woke the fetch before its max wait", took)
			}
		}},
		{faults.IgnoreMinBytes, []envOpt{watchReads}, func(t *testing.T, e *env) {
			c := e.dial()
			corr := c.send(longPoll(time.Minute, 1<<20), 11)
			<-e.reads
			e.appendValues(0, "x")
			wantValues(t, values(t, fetched(c.recv(longPoll(0, 0), 11, corr)).RecordBatches), "x@0")
		}},
		{faults.StaleHighWater, nil, func(t *testing.T, e *env) {
			e.appendValues(0, "a", "b")
			if r := fetched(e.dial().do(fetchReq(topic, 0, 0), 11)); r.HighWatermark != 1 {
				t.Errorf("high watermark %d, want the stale 1", r.HighWatermark)
			}
		}},
		{faults.ReorderRecords, nil, func(t *testing.T, e *env) {
			e.appendValues(0, "a", "b")
			wantValues(t, values(t, fetched(e.dial().do(fetchReq(topic, 0, 0), 11)).RecordBatches), "b@0", "a@1")
		}},
		{faults.LoseRecord, nil, func(t *testing.T, e *env) {
			e.dial().produceTo(0, batchOf("a", "b").encode(t), 8)
			if hwm := e.highWatermark(0); hwm != 1 {
				t.Errorf("high watermark %d, want 1: a record lost", hwm)
			}
		}},
		{faults.IgnoreLogStart, nil, func(t *testing.T, e *env) {
			e.appendValues(0, "a", "b")
			r := deleted(e.dial().do(deleteRecordsReq(topic, 0, 2), 2))
			ls, _ := e.log(0).LogStart(context.Background())
			if r.ErrorCode != 0 || r.LowWatermark != 2 || ls != 0 {
				t.Errorf("%v low watermark %d log start %d; want success claimed, nothing moved", kerr.ErrorForCode(r.ErrorCode), r.LowWatermark, ls)
			}
		}},
		{faults.AuthorizeAll, []envOpt{withSASL()}, func(t *testing.T, e *env) {
			wantCode(t, "mallory's produce", e.dialAs("mallory").produceTo(0, batchOf("a").encode(t), 8).ErrorCode, nil)
		}},
		{faults.DropCommits, nil, func(t *testing.T, e *env) {
			wantCode(t, "commit", committed(e.dial().do(commitReq(grp, topic, 0, 5), 8)).ErrorCode, nil)
			if held := e.offsetsOf(grp); held[0] != "-1/-1/" {
				t.Errorf("held %v, want nothing", held)
			}
		}},
		{faults.NoCommitFencing, nil, func(t *testing.T, e *env) {
			m := e.stable(nil)
			wantCode(t, "stale commit", committed(e.dial().do(memberCommitReq(m.MemberID, m.Generation+1, nil), 8)).ErrorCode, nil)
		}},
		{faults.ForgetOnRebalance, nil, func(t *testing.T, e *env) {
			e.dial().do(commitReq(grp, topic, 0, 5), 8)
			e.rebalancing()
			if held := e.offsetsOf(grp); held[0] != "-1/-1/" {
				t.Errorf("held %v after a rebalance, want nothing", held)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.fault, func(t *testing.T) {
			t.Parallel()
			tc.shows(t, newEnv(t, append(tc.opts, withFault(tc.fault))...))
		})
	}
}
