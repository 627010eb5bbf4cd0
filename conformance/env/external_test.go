package env

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/protocol"
	"github.com/kop-conformance/kop-conformance/reference/wiretap"
)

// External needs no Docker: against an in-process cluster it must give every level a proxy
// that answers, record what the proxies see in a tap served over HTTP, and stop cleanly.
func TestExternalProxiesEveryLevel(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	bootstrap := cluster.ListenAddrs()[0]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	logDir := t.TempDir()
	e, err := External(ctx, "external", bootstrap, WithLogDir(logDir))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop(context.Background())

	tg := e.Target
	if tg.Name != "external" || tg.Bootstrap != bootstrap || tg.Secure != nil || tg.WireURL == "" {
		t.Fatalf("target %+v", tg)
	}
	for _, lv := range protocol.LevelNames() {
		addr := tg.Levels[lv]
		if addr == "" || addr == bootstrap {
			t.Fatalf("level %s at %q", lv, addr)
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ClientID("env-test-"+lv))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
		cl.Close()
		if err != nil {
			t.Fatalf("level %s proxy: %v", lv, err)
		}
		if resp.ErrorCode != 0 || len(resp.ApiKeys) == 0 {
			t.Fatalf("level %s proxy answered %+v", lv, resp)
		}
	}
	clients, err := wiretap.Query(ctx, tg.WireURL, "env-test-")
	if err != nil {
		t.Fatal(err)
	}
	if len(clients) != len(protocol.LevelNames()) {
		t.Errorf("the tap saw %d clients, want one per level: %v", len(clients), clients)
	}
	e.Stop(context.Background())
	if _, err := os.Stat(filepath.Join(logDir, "levelproxy.log")); err != nil {
		t.Errorf("no level proxy log: %v", err)
	}
}

// A start that fails after starting something removes it: here, the level proxies.
func TestFailedStartStopsWhatItStarted(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	e := newEnv(newOptions(nil))
	plan := mustPlan(t, []Protocol{Plaintext}, []string{"2.0"}, Given, Proxied)
	plan.Main(Plaintext).Addr = cluster.ListenAddrs()[0]
	if _, err := e.proxyLevels(plan); err != nil {
		t.Fatal(err)
	}
	proxy := plan.Proxies()[0].Addr
	c, err := net.Dial("tcp", proxy)
	if err != nil {
		t.Fatalf("the level proxy does not run: %v", err)
	}
	c.Close()
	if got, err := e.started(errors.New("a later step failed")); got != nil || err == nil {
		t.Fatalf("a failed start returned %v, %v", got, err)
	}
	if c, err := net.DialTimeout("tcp", proxy, time.Second); err == nil {
		c.Close()
		t.Fatal("the level proxy still accepts after the failed start")
	}
}

// TestFaultsNeedTheirContainers: on an environment without the container a fault acts on
// (an external target), every fault method fails with a reason and touches nothing.
func TestFaultsNeedTheirContainers(t *testing.T) {
	e := newEnv(newOptions(nil))
	ctx := context.Background()
	_, unloadErr := e.UnloadTopic(ctx, "t")
	for name, err := range map[string]error{
		"KillServer":       e.KillServer(ctx),
		"PauseStorage":     e.PauseStorage(ctx),
		"UnpauseStorage":   e.UnpauseStorage(ctx),
		"RestartPulsar":    e.RestartPulsar(ctx),
		"DisconnectServer": e.DisconnectServer(ctx),
		"ReconnectServer":  e.ReconnectServer(ctx),
		"UnloadTopic":      unloadErr,
	} {
		if err == nil || !strings.Contains(err.Error(), "this environment has no") {
			t.Errorf("%s on an environment without containers: %v", name, err)
		}
	}
	if done, err := e.Heal(ctx); err != nil || len(done) != 0 {
		t.Errorf("Heal of an environment without containers: %v, %v", done, err)
	}
	if e.dockerClient != nil {
		t.Error("a refused fault made a Docker client")
	}
}
