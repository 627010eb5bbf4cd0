package suite

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/conformance/checker"
	"github.com/kop-conformance/kop-conformance/conformance/clients"
)

// TestFaultWorkloadOnKfake runs the fault run's workload (producers, group members, commit
// sampler, final read, checker) against franz-go's in-process cluster, no Docker needed. A
// cluster that refuses Produce requests for a while (closing their connections unanswered)
// must leave a clean history: a red fault run on a real target is then the target's doing,
// not the workload's. A cluster that acknowledges a Produce it never wrote must be caught.
func TestFaultWorkloadOnKfake(t *testing.T) {
	cases := []struct {
		name string
		// fault installs the fault on the cluster and returns its heal.
		fault func(c *kfake.Cluster) (heal func())
		clean bool
		check func(s checker.Summary) bool
	}{
		{
			name: "every Produce refused for 3 s, then served",
			fault: func(c *kfake.Cluster) func() {
				var refusing atomic.Bool
				refusing.Store(true)
				c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
					c.KeepControl()
					if refusing.Load() {
						return nil, errors.New("refused"), true // closes the connection, nothing written
					}
					return nil, nil, false
				})
				return func() { time.Sleep(3 * time.Second); refusing.Store(false) } // the fault's duration
			},
			clean: true,
			check: func(s checker.Summary) bool { return s.OK() && s.Acknowledged >= 200 && s.Read >= s.Acknowledged },
		},
		{
			// As Kafka answers for a moment after a restart: the final read must wait it out.
			name: "ListOffsets answers LEADER_NOT_AVAILABLE for 2 s after the fault",
			fault: func(c *kfake.Cluster) func() {
				var armed atomic.Bool
				var first time.Time // the first ListOffsets after the heal (the control runs serially)
				c.ControlKey(int16(kmsg.ListOffsets), func(req kmsg.Request) (kmsg.Response, error, bool) {
					c.KeepControl()
					if !armed.Load() {
						return nil, nil, false
					}
					if first.IsZero() {
						first = time.Now()
					}
					if time.Since(first) > 2*time.Second {
						return nil, nil, false
					}
					lr := req.(*kmsg.ListOffsetsRequest)
					resp := lr.ResponseKind().(*kmsg.ListOffsetsResponse)
					for _, rt := range lr.Topics {
						st := kmsg.NewListOffsetsResponseTopic()
						st.Topic = rt.Topic
						for _, rp := range rt.Partitions {
							sp := kmsg.NewListOffsetsResponseTopicPartition()
							sp.Partition, sp.ErrorCode = rp.Partition, kerr.LeaderNotAvailable.Code
							st.Partitions = append(st.Partitions, sp)
						}
						resp.Topics = append(resp.Topics, st)
					}
					return resp, nil, true
				})
				return func() { time.Sleep(3 * time.Second); armed.Store(true) } // the workload runs on meanwhile
			},
			clean: true,
			check: func(s checker.Summary) bool { return s.OK() && s.Acknowledged >= 100 && s.Read >= s.Acknowledged },
		},
		{
			name: "one Produce acknowledged and not written",
			fault: func(c *kfake.Cluster) func() {
				c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
					pr := req.(*kmsg.ProduceRequest)
					resp := pr.ResponseKind().(*kmsg.ProduceResponse)
					for _, rt := range pr.Topics {
						st := kmsg.NewProduceResponseTopic()
						st.Topic = rt.Topic
						for _, rp := range rt.Partitions {
							sp := kmsg.NewProduceResponseTopicPartition()
							sp.Partition, sp.BaseOffset = rp.Partition, 1_000_000
							st.Partitions = append(st.Partitions, sp)
						}
						resp.Topics = append(resp.Topics, st)
					}
					return resp, nil, true
				})
				return func() {}
			},
			check: func(s checker.Summary) bool { return !s.OK() && s.Lost > 0 },
		},
	}
	saved := target
	defer func() { target = saved }()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := kfake.NewCluster(kfake.NumBrokers(1))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			const level = "2.6"
			target = clients.Target{Name: "kfake", Levels: map[string]string{level: c.ListenAddrs()[0]}, ClientID: "kfake-faults"}

			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			w, err := startFaultWorkload(ctx, level, "ct-faults-kfake", "cg-faults-kfake")
			if err != nil {
				t.Fatal(err)
			}
			defer w.close()
			if !waitFor(ctx, time.Minute, w.warmedUp) {
				t.Fatalf("the workload did not warm up: %s", w.status())
			}
			f := checker.Fault{Kind: "kfake-control", Start: time.Now()}
			tc.fault(c)()
			f.Healed = time.Now()
			recovered := waitFor(ctx, 30*time.Second, func() bool { return w.recoveredSince(f.Healed) })
			if tc.clean && !recovered {
				t.Fatalf("no recovery after the fault: %s", w.status())
			}

			problem := ""
			final, logs := w.finish(ctx, &problem)
			if tc.clean && problem != "" {
				t.Fatalf("finishing: %s", problem)
			}
			res, err := checker.Check(checker.History{Sends: w.sends(), Polls: w.obs.polls, Commits: w.obs.commits, Final: final, Logs: logs, Faults: []checker.Fault{f}})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%+v\n%s", res.Summary, strings.Join(res.Lines(5), "\n"))
			if !tc.check(res.Summary) || len(logs) != faultPartitions {
				t.Fatalf("summary %+v, %d partitions\n%s", res.Summary, len(logs), strings.Join(res.Lines(0), "\n"))
			}
		})
	}
}
