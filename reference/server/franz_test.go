package server

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/kop-conformance/kop-conformance/reference/protocol"
	"github.com/kop-conformance/kop-conformance/reference/wiretap"
)

// A real client against the in-process server: franz-go produces, consumes in a group and
// commits, pinned to a protocol level on a listener capped to it; the wire tap records every
// version it sent, each within the level.
func TestFranzGoClient(t *testing.T) {
	cases := []struct {
		level string
		sasl  bool
	}{
		{"1.0", false},
		{"2.0", true},
		{"2.6", false},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("level %s sasl %v", tc.level, tc.sasl), func(t *testing.T) {
			t.Parallel()
			opts := []envOpt{withLevel(tc.level), withConfig(func(c *Config) { c.Tap = wiretap.New() })}
			if tc.sasl {
				opts = append(opts, withSASL())
			}
			e := newEnv(t, opts...)
			kopts := []kgo.Opt{kgo.SeedBrokers(e.addr), kgo.MaxVersions(protocol.Levels[tc.level]()), kgo.ClientID("franz-" + tc.level),
				kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()),
				kgo.ConsumerGroup(grp), kgo.ConsumeTopics(topic), kgo.DisableAutoCommit(),
				kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}
			if tc.sasl {
				kopts = append(kopts, kgo.SASL(plain.Auth{User: "admin", Pass: "admin-pw"}.AsMechanism()))
			}
			cl, err := kgo.NewClient(kopts...)
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()

			var sent []string
			for i := range 4 {
				r := &kgo.Record{Partition: int32(i % nParts), Key: []byte("k"), Value: []byte(fmt.Sprint(i)),
					Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("x")}}}
				if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
					t.Fatalf("produce: %v", err)
				}
				sent = append(sent, fmt.Sprintf("%d/%d:%s", r.Partition, r.Offset, r.Value))
			}
			want := []string{"0/0:0", "1/0:1", "0/1:2", "1/1:3"}
			if !reflect.DeepEqual(sent, want) {
				t.Fatalf("produced %v, want %v", sent, want)
			}

			got := map[string]bool{}
			for len(got) < len(want) {
				fs := cl.PollFetches(ctx)
				if err := fs.Err(); err != nil {
					t.Fatalf("consume: %v", err)
				}
				fs.EachRecord(func(r *kgo.Record) {
					if string(r.Key) != "k" || len(r.Headers) != 1 || string(r.Headers[0].Value) != "x" {
						t.Errorf("record %+v", r)
					}
					got[fmt.Sprintf("%d/%d:%s", r.Partition, r.Offset, r.Value)] = true
				})
			}
			for _, w := range want {
				if !got[w] {
					t.Errorf("consumed %v, missing %s", got, w)
				}
			}
			if err := cl.CommitUncommittedOffsets(ctx); err != nil {
				t.Fatalf("commit: %v", err)
			}
			for _, c := range e.groups.Fetch(grp, map[string][]int32{topic: {0, 1}}) {
				if c.Offset != 2 {
					t.Errorf("committed %d on partition %d, want 2", c.Offset, c.Partition)
				}
			}
			level, _ := protocol.Cap(Implemented(), tc.level)
			tapped := e.srv.cfg.Tap.Snapshot("franz-" + tc.level)["franz-"+tc.level].Versions
			for _, k := range []kmsg.Key{kmsg.Produce, kmsg.Fetch, kmsg.JoinGroup, kmsg.OffsetCommit} {
				if len(tapped[k.Int16()]) == 0 {
					t.Errorf("the tap saw no %s", kmsg.NameForKey(k.Int16()))
				}
			}
			for k, vs := range tapped {
				if k != kmsg.ApiVersions.Int16() && !level.Serves(k, vs[len(vs)-1]) {
					t.Errorf("%s v%v sent, above level %s", kmsg.NameForKey(k), vs, tc.level)
				}
			}
		})
	}
}
