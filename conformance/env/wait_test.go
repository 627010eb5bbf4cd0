package env

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go/exec"
	"github.com/twmb/franz-go/pkg/kfake"
)

// fakeTarget is a container as a wait strategy sees it: its "9092/tcp" is published on addr.
type fakeTarget struct {
	addr  string
	state container.State
}

func (f *fakeTarget) Host(context.Context) (string, error) {
	host, _, err := net.SplitHostPort(f.addr)
	return host, err
}

func (f *fakeTarget) MappedPort(_ context.Context, port string) (network.Port, error) {
	if port != "9092/tcp" {
		return network.Port{}, errors.New("port " + port + " not published")
	}
	_, p, _ := net.SplitHostPort(f.addr)
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return network.Port{}, err
	}
	out, _ := network.PortFrom(uint16(n), network.TCP)
	return out, nil
}

func (f *fakeTarget) State(context.Context) (*container.State, error) { return &f.state, nil }

func (f *fakeTarget) Inspect(context.Context) (*container.InspectResponse, error) {
	return nil, errors.New("not inspected")
}

func (f *fakeTarget) Ports(context.Context) (network.PortMap, error) {
	return nil, errors.New("not listed")
}

func (f *fakeTarget) Logs(context.Context) (io.ReadCloser, error) {
	return nil, errors.New("no logs: the wait must not read them")
}

func (f *fakeTarget) Exec(context.Context, []string, ...exec.ProcessOption) (int, io.Reader, error) {
	return 0, nil, errors.New("FROM scratch: the wait must not exec")
}

func (f *fakeTarget) CopyFileFromContainer(context.Context, string) (io.ReadCloser, error) {
	return nil, errors.New("no files")
}

var running = container.State{Running: true, Status: container.StateRunning}

func TestKafkaAPIWaitAnswered(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	target := &fakeTarget{addr: cluster.ListenAddrs()[0], state: running}
	start := time.Now()
	if err := ForKafkaAPI("9092/tcp").WithStartupTimeout(10*time.Second).WaitUntilReady(context.Background(), target); err != nil {
		t.Fatalf("a broker that answers ApiVersions is not ready: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("ready after %s", took)
	}
}

// silentListener accepts connections and reads them, but never answers: a published Docker
// port before the server inside listens.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				io.Copy(io.Discard, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func TestKafkaAPIWaitSilent(t *testing.T) {
	target := &fakeTarget{addr: silentListener(t), state: running}
	start := time.Now()
	err := ForKafkaAPI("9092/tcp").WithStartupTimeout(1500*time.Millisecond).WaitUntilReady(context.Background(), target)
	if err == nil || !strings.Contains(err.Error(), "did not answer ApiVersions") {
		t.Fatalf("a listener that never answers passed the wait: %v", err)
	}
	if took := time.Since(start); took < 1500*time.Millisecond || took > 6*time.Second {
		t.Errorf("gave up after %s, want the 1.5s timeout", took)
	}
}

func TestKafkaAPIWaitExited(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: the container's server is gone
	target := &fakeTarget{addr: addr, state: container.State{Status: container.StateExited, ExitCode: 2}}
	start := time.Now()
	err = ForKafkaAPI("9092/tcp").WithStartupTimeout(time.Minute).WaitUntilReady(context.Background(), target)
	if err == nil || !strings.Contains(err.Error(), "exited") {
		t.Fatalf("waited on an exited container: %v", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("noticed the exit after %s", took)
	}
}

func TestKafkaAPIWaitUnpublishedPort(t *testing.T) {
	target := &fakeTarget{addr: "127.0.0.1:1", state: running}
	if err := ForKafkaAPI("9093/tcp").WithStartupTimeout(time.Second).WaitUntilReady(context.Background(), target); err == nil {
		t.Fatal("waited on a port the container does not publish")
	}
}
