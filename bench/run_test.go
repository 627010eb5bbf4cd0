package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kop-conformance/kop-conformance/bench/report"
)

// fakeGateway serves what the probe reads of the gateway: each forced GC moves its figures
// on, as if the gateway had opened 10 partitions (2 MiB) in between.
type fakeGateway struct {
	mu  sync.Mutex
	gcs int
}

func (f *fakeGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.URL.Path == "/debug/pprof/heap" && r.URL.Query().Get("gc") == "1":
		f.gcs++
		io.WriteString(w, "heap profile")
	case r.URL.Path == "/metrics":
		fmt.Fprintf(w, "# TYPE %s counter\n%s %d\n", metricCPU, metricCPU, 3+f.gcs)
		fmt.Fprintf(w, "# TYPE %s gauge\n%s %d\n", metricRSS, metricRSS, (100+2*f.gcs)<<20)
		fmt.Fprintf(w, "# TYPE %s gauge\n%s %d\n", metricHeap, metricHeap, (40+f.gcs)<<20)
		fmt.Fprintf(w, "# HELP %s open\n# TYPE %s gauge\n%s %d\n", metricOpen, metricOpen, metricOpen, 10*f.gcs)
		fmt.Fprintf(w, "# TYPE kop_requests_total counter\nkop_requests_total{api=\"Produce\"} 7\n")
	default:
		http.NotFound(w, r)
	}
}

// fakeDocker reports each container's CPU growing by a second per call.
type fakeDocker struct {
	mu    sync.Mutex
	calls map[string]int
}

func (f *fakeDocker) ContainerStats(_ context.Context, id string, _ client.ContainerStatsOptions) (client.ContainerStatsResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[id]++
	var st container.StatsResponse
	st.CPUStats.CPUUsage.TotalUsage = uint64(f.calls[id]) * 1e9
	st.MemoryStats.Usage = 300 << 20
	st.MemoryStats.Stats = map[string]uint64{"inactive_file": 100 << 20}
	b, _ := json.Marshal(st)
	return client.ContainerStatsResult{Body: io.NopCloser(bytes.NewReader(b))}, nil
}

// The runner end to end on two in-process Kafka clusters (franz-go's kfake) standing in for
// the gateway and Kafka: every Kafka producer, a tailing consumer, catch-up, the topic's life,
// the idle-partition measurement and the resources read between snapshots. The pulsar path
// needs a real Pulsar and runs only in make bench.
func TestRunnerOnInProcessClusters(t *testing.T) {
	var bootstraps []string
	for range 2 {
		c, err := kfake.NewCluster(kfake.NumBrokers(1))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		bootstraps = append(bootstraps, c.ListenAddrs()[0])
	}
	gw := httptest.NewServer(&fakeGateway{})
	defer gw.Close()
	docker := &fakeDocker{}

	cfg := mustConfig(t, map[string]string{
		"BENCH_PATHS": "gateway kafka", "BENCH_ROUNDS": "2", "BENCH_DURATION": "200ms", "BENCH_RATE_DURATION": "600ms",
		"BENCH_SCALE_DURATION": "200ms", "BENCH_CATCHUP": "2s", "BENCH_WARMUP": "100ms", "BENCH_RATE": "500",
		"BENCH_PARTITIONS": "10", "BENCH_CONNECTIONS": "3", "BENCH_BUDGET": "10m",
		"BENCH_WORKLOADS": "max-1KiB-p1 max-1KiB-p1-sarama max-1KiB-p1-kafka-go max-1KiB-p1-acks1 max-1KiB-p1-lz4 max-100KiB-p1 rate-1KiB-p1 scale-*",
	})
	cfg.Started = time.Now()
	cfg.Settle = 0 // a fast in-process cluster can take a short round's records within any settle period
	ws, series, err := Plan(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	r, err := NewRunner(cfg, Endpoints{Gateway: bootstraps[0], Kafka: bootstraps[1], MetricsURL: gw.URL + "/metrics",
		Containers: map[string]string{"reference": "ref-id", "pulsar": "pulsar-id", "kafka": "kafka-id"}, Docker: docker}, &progress)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	results := r.Run(ctx, Warmup(cfg, cfg.Paths), ws)
	t.Log(progress.String())
	for _, n := range r.Notes() {
		t.Log("note:", n)
	}
	if Failed(results) > 0 {
		t.Fatalf("%d rounds failed", Failed(results))
	}
	rep := Report(cfg, Images{Reference: "ref:test"}, results, series, r.Notes(), time.Minute, time.Now())
	for _, w := range rep.Workloads {
		if len(w.Rounds) != 4 {
			t.Errorf("%s: %d rounds, want 2 per path", w.Spec.Name, len(w.Rounds))
		}
		for _, rd := range w.Rounds {
			if !rd.OK() || rd.Records == 0 || rd.MBps <= 0 || rd.Publish == nil || rd.Resources.MovedBytes < rd.Bytes {
				t.Errorf("%s round %d on %s: %+v", w.Spec.Name, rd.Round, rd.Path, rd)
			}
			if c := rd.Resources.Containers; len(c) != len(serving[rd.Path]) || c[serving[rd.Path][0]].CPUSeconds != 1 || c[serving[rd.Path][0]].MemoryBytes != 200<<20 {
				t.Errorf("%s on %s: containers %+v", w.Spec.Name, rd.Path, c)
			}
			if (rd.Path == report.Gateway) != (rd.Resources.GatewayRSS != nil && rd.Resources.GatewayCPUSeconds != nil) {
				t.Errorf("%s on %s: gateway figures %+v", w.Spec.Name, rd.Path, rd.Resources)
			}
			if w.Spec.CatchUp && (rd.CatchUp == nil || !rd.CatchUp.Complete || rd.CatchUp.Records != rd.Records) {
				t.Errorf("%s on %s: catch-up %+v of %d records", w.Spec.Name, rd.Path, rd.CatchUp, rd.Records)
			}
			if w.Spec.Kind == report.FixedRate && (rd.E2E == nil || rd.Records != 300 || rd.Behind != 0) {
				t.Errorf("%s on %s: %d records at 500/s for 0.6 s, %d behind, e2e %+v", w.Spec.Name, rd.Path, rd.Records, rd.Behind, rd.E2E)
			}
		}
	}
	idleFound := false
	for _, rd := range rep.Workload("scale-p10").Rounds {
		if rd.Resources.Idle != nil {
			idleFound = true
			if rd.Path != report.Gateway || rd.Round != 1 || rd.Resources.Idle.Partitions != 10 || rd.Resources.Idle.PerPartition != 2.0*(1<<20)/10 {
				t.Errorf("idle measurement %+v on %s round %d", rd.Resources.Idle, rd.Path, rd.Round)
			}
		}
	}
	if !idleFound {
		t.Error("scale-p10's first gateway round did not measure idle partitions")
	}
	// 2 MiB over 10 partitions is 204.8 KiB each: far over the goal.
	if g := rep.Goals[3]; g.ID != "idle-partition-memory" || g.Met == nil || *g.Met || *g.Value != 204.8 {
		t.Errorf("idle goal %+v", g)
	}
	// Every topic made was deleted.
	for _, b := range bootstraps {
		kt, _ := newKafkaTarget(b)
		topics, err := kt.adm.ListTopics(ctx)
		kt.close()
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range topics.Names() {
			if strings.HasPrefix(name, "bench-") {
				t.Errorf("topic %s left on %s", name, b)
			}
		}
	}
	if !strings.Contains(progress.String(), "warm-up gateway:") || !strings.Contains(progress.String(), "rate-1KiB-p1 round 2/2 kafka:") {
		t.Errorf("progress lines:\n%s", progress.String())
	}
}

// A budget already spent skips every round, and the report says why.
func TestRunnerSkipsPastTheBudget(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := mustConfig(t, map[string]string{"BENCH_PATHS": "kafka", "BENCH_WORKLOADS": "max-1KiB-p1", "BENCH_BUDGET": "1m"})
	cfg.Started = time.Now().Add(-time.Minute)
	ws, _, _ := Plan(cfg)
	r, err := NewRunner(cfg, Endpoints{Kafka: c.ListenAddrs()[0]}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	results := r.Run(context.Background(), Warmup(cfg, cfg.Paths), ws)
	for _, rd := range results[0].Rounds {
		if !strings.HasPrefix(rd.Skipped, "time budget") {
			t.Fatalf("round %+v ran past the budget", rd)
		}
	}
	if len(results[0].Rounds) != 3 {
		t.Fatalf("%d rounds recorded, want each of the 3 as skipped", len(results[0].Rounds))
	}
}
