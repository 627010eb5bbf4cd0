package server

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/protocol"
)

// The versions DeleteRecords and OffsetForLeaderEpoch serve, as each level advertises them.
func TestNewAPIVersionsPerLevel(t *testing.T) {
	cases := []struct {
		level                      string
		deleteRecords, leaderEpoch int16
	}{
		{"", 2, 3},
		{"1.0", 0, 0},
		{"1.1", 0, 0},
		{"2.0", 1, 1},
		{"2.1", 1, 2},
		{"2.3", 1, 3},
		{"2.5", 1, 3},
		{"2.6", 2, 3},
	}
	for _, tc := range cases {
		tab, err := protocol.Cap(Implemented(), tc.level)
		if err != nil {
			t.Fatal(err)
		}
		if r := tab[kmsg.DeleteRecords.Int16()]; r.Min != 0 || r.Max != tc.deleteRecords {
			t.Errorf("level %q: DeleteRecords v%d–%d, want v0–%d", tc.level, r.Min, r.Max, tc.deleteRecords)
		}
		if r := tab[kmsg.OffsetForLeaderEpoch.Int16()]; r.Min != 0 || r.Max != tc.leaderEpoch {
			t.Errorf("level %q: OffsetForLeaderEpoch v%d–%d, want v0–%d", tc.level, r.Min, r.Max, tc.leaderEpoch)
		}
	}
}

func TestDeleteRecordsTarget(t *testing.T) {
	cases := []struct {
		name                     string
		requested, hwm, logStart int64
		target                   int64
		move                     bool
		err                      *kerr.Error
	}{
		{"move the log start", 5, 10, 0, 5, true, nil},
		{"-1 is the high watermark", -1, 10, 0, 10, true, nil},
		{"up to the high watermark", 10, 10, 3, 10, true, nil},
		{"above the high watermark", 11, 10, 0, 0, false, kerr.OffsetOutOfRange},
		{"other negative offsets", -2, 10, 0, 0, false, kerr.OffsetOutOfRange},
		{"at the log start: nothing changes", 3, 10, 3, 3, false, nil},
		{"below the log start: nothing changes", 1, 10, 3, 1, false, nil},
		{"-1 on an empty partition", -1, 0, 0, 0, false, nil},
		{"0 on an empty partition", 0, 0, 0, 0, false, nil},
		{"1 on an empty partition", 1, 0, 0, 0, false, kerr.OffsetOutOfRange},
		{"-1 when everything is deleted", -1, 10, 10, 10, false, nil},
	}
	for _, tc := range cases {
		target, move, err := deleteRecordsTarget(tc.requested, tc.hwm, tc.logStart)
		if err != tc.err || err == nil && (target != tc.target || move != tc.move) {
			t.Errorf("%s: (%d, %v, %v), want (%d, %v, %v)", tc.name, target, move, err, tc.target, tc.move, tc.err)
		}
	}
}

// fakePartition is a partition whose log start DeleteBefore moves, as storage's does.
type fakePartition struct {
	hwm, first, deletedTo int64
	writes                []int64
	failWrite             error
	concurrent            int64 // another DeleteRecords lands during the write
}

func (f *fakePartition) HighWatermark(context.Context) (int64, error) { return f.hwm, nil }
func (f *fakePartition) LogStart(context.Context) (int64, error) {
	return max(f.first, f.deletedTo), nil
}
func (f *fakePartition) DeleteBefore(_ context.Context, off int64) error {
	if f.failWrite != nil {
		return f.failWrite
	}
	f.writes = append(f.writes, off)
	f.deletedTo = max(f.deletedTo, off, f.concurrent)
	return nil
}

func TestDeletePartitionRecords(t *testing.T) {
	broken := errors.New("pulsar is down")
	cases := []struct {
		name        string
		p           fakePartition
		requested   int64
		store       bool
		wantLow     int64
		wantErr     *kerr.Error
		wantStorage error
		wantWrites  []int64
		wantStart   int64
	}{
		{"moves and answers the new log start", fakePartition{hwm: 10}, 4, true, 4, nil, nil, []int64{4}, 4},
		{"-1 deletes everything", fakePartition{hwm: 10}, -1, true, 10, nil, nil, []int64{10}, 10},
		{"at the log start writes nothing", fakePartition{hwm: 10, deletedTo: 4}, 4, true, 4, nil, nil, nil, 4},
		{"below the log start writes nothing and answers the log start", fakePartition{hwm: 10, deletedTo: 6}, 2, true, 6, nil, nil, nil, 6},
		{"below the first stored offset", fakePartition{hwm: 10, first: 3}, 1, true, 3, nil, nil, nil, 3},
		{"out of range writes nothing", fakePartition{hwm: 10}, 11, true, 0, kerr.OffsetOutOfRange, nil, nil, 0},
		{"a concurrent larger delete wins", fakePartition{hwm: 10, concurrent: 8}, 5, true, 8, nil, nil, []int64{5}, 8},
		{"a failed write is a storage error", fakePartition{hwm: 10, failWrite: broken}, 5, true, 0, nil, broken, nil, 0},
		{"fault ignore-log-start: claims the offset, stores nothing", fakePartition{hwm: 10}, 4, false, 4, nil, nil, nil, 0},
		{"fault ignore-log-start: -1 claims the high watermark", fakePartition{hwm: 10}, -1, false, 10, nil, nil, nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			low, e, err := deletePartitionRecords(context.Background(), &p, tc.requested, tc.store)
			if !errors.Is(err, tc.wantStorage) || e != tc.wantErr {
				t.Fatalf("errors (%v, %v), want (%v, %v)", e, err, tc.wantErr, tc.wantStorage)
			}
			if e == nil && err == nil && low != tc.wantLow {
				t.Errorf("low watermark %d, want %d", low, tc.wantLow)
			}
			if len(p.writes) != len(tc.wantWrites) || len(p.writes) > 0 && p.writes[0] != tc.wantWrites[0] {
				t.Errorf("writes %v, want %v", p.writes, tc.wantWrites)
			}
			if ls, _ := p.LogStart(context.Background()); ls != tc.wantStart {
				t.Errorf("log start after: %d, want %d", ls, tc.wantStart)
			}
		})
	}
}

func TestOffsetForLeaderEpochAnswers(t *testing.T) {
	cases := []struct {
		name               string
		current, requested int32
		hwm, logStart      int64
		wantErr            *kerr.Error
		wantEpoch          int32
		wantEnd            int64
	}{
		{"current epoch answers the high watermark", -1, 0, 42, 0, nil, 0, 42},
		{"checked current epoch", 0, 0, 42, 0, nil, 0, 42},
		{"empty partition", -1, 0, 0, 0, nil, 0, 0},
		{"undefined epoch", -1, -1, 42, 0, nil, -1, -1},
		{"epoch newer than any", -1, 1, 42, 0, nil, -1, -1},
		{"much newer", -1, 1000, 42, 0, nil, -1, -1},
		{"older than any epoch: the log start", -1, -5, 42, 7, nil, -5, 7},
		{"stale current epoch", -2, 0, 42, 0, kerr.FencedLeaderEpoch, -1, -1},
		{"future current epoch", 1, 0, 42, 0, kerr.UnknownLeaderEpoch, -1, -1},
	}
	for _, tc := range cases {
		e := checkCurrentEpoch(tc.current)
		if e != tc.wantErr {
			t.Errorf("%s: error %v, want %v", tc.name, e, tc.wantErr)
			continue
		}
		if e != nil {
			continue
		}
		var offset int64
		switch epochNeeds(tc.requested) {
		case needHighWatermark:
			offset = tc.hwm
		case needLogStart:
			offset = tc.logStart
		}
		epoch, end := epochAnswer(tc.requested, offset)
		if epoch != tc.wantEpoch || end != tc.wantEnd {
			t.Errorf("%s: (%d, %d), want (%d, %d)", tc.name, epoch, end, tc.wantEpoch, tc.wantEnd)
		}
	}
}

func TestRefusedConfig(t *testing.T) {
	cfg := func(kv ...*string) []kmsg.CreateTopicsRequestTopicConfig {
		var out []kmsg.CreateTopicsRequestTopicConfig
		for i := 0; i+1 < len(kv); i += 2 {
			c := kmsg.NewCreateTopicsRequestTopicConfig()
			c.Name, c.Value = *kv[i], kv[i+1]
			out = append(out, c)
		}
		return out
	}
	s := kmsg.StringPtr
	cases := []struct {
		name    string
		configs []kmsg.CreateTopicsRequestTopicConfig
		want    string
	}{
		{"no configs", nil, ""},
		{"CreateTime", cfg(s("message.timestamp.type"), s("CreateTime")), ""},
		{"LogAppendTime", cfg(s("message.timestamp.type"), s("LogAppendTime")),
			"message.timestamp.type=LogAppendTime is not served: records keep the producer's timestamp"},
		{"LogAppendTime among others", cfg(s("retention.ms"), s("1000"), s("message.timestamp.type"), s("LogAppendTime")), "not served"},
		{"other configs are ignored", cfg(s("retention.ms"), s("1000"), s("cleanup.policy"), s("compact")), ""},
		{"a value Kafka does not know", cfg(s("message.timestamp.type"), s("logappendtime")), "must be one of"},
		{"null", cfg(s("message.timestamp.type"), nil), "null value"},
	}
	for _, tc := range cases {
		got := refusedConfig(tc.configs)
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
