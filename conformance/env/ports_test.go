package env

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/testcontainers/testcontainers-go"
)

func TestPortPickerHoldsUntilRelease(t *testing.T) {
	var p portPicker
	seen := map[int]bool{}
	for range 20 {
		port, err := p.pick()
		if err != nil {
			t.Fatal(err)
		}
		if seen[port] {
			t.Fatalf("port %d picked twice", port)
		}
		seen[port] = true
	}
	for port := range seen {
		if l, err := net.Listen("tcp", loopbackAddr(port)); err == nil {
			l.Close()
			t.Fatalf("port %d could be taken before release", port)
		}
	}
	p.release()
	p.release() // a restart runs the hook again
	for port := range seen {
		l, err := net.Listen("tcp", loopbackAddr(port))
		if err != nil {
			t.Fatalf("port %d still held after release: %v", port, err)
		}
		l.Close()
	}
}

func TestIsPortClash(t *testing.T) {
	for _, c := range []struct {
		msg   string
		clash bool
	}{
		// Docker 28+, a host process holds the port.
		{"generic container: start container: container start: Error response from daemon: failed to set up container networking: driver failed programming external connectivity on endpoint x (1a2b): failed to bind host port for 127.0.0.1:41234:172.18.0.3:9092/tcp: address already in use", true},
		// Older Docker, another container holds it.
		{"Error response from daemon: driver failed programming external connectivity on endpoint x: Bind for 127.0.0.1:41234 failed: port is already allocated", true},
		{"Error response from daemon: No such image: kop-reference:dev", false},
		{"wait until ready: container exited with code 1", false},
	} {
		if got := isPortClash(errors.New(c.msg)); got != c.clash {
			t.Errorf("isPortClash(%q) = %v, want %v", c.msg, got, c.clash)
		}
	}
}

// dockerPlayer plays Docker for runPublished: it refuses the first clashes starts as if a
// host port were taken, then fails with final (nil: starts the container).
func dockerPlayer(t *testing.T, clashes int, final error) *int {
	t.Helper()
	starts := 0
	old := runContainer
	t.Cleanup(func() { runContainer = old })
	runContainer = func(context.Context, string, ...testcontainers.ContainerCustomizer) (*testcontainers.DockerContainer, error) {
		starts++
		if starts <= clashes {
			return nil, errors.New("driver failed programming external connectivity: failed to bind host port for 127.0.0.1:4242: address already in use")
		}
		if final != nil {
			return nil, final
		}
		return &testcontainers.DockerContainer{}, nil
	}
	return &starts
}

// setupRecorder is a runPublished setup that picks n ports and records them per attempt.
func setupRecorder(n int, attempts *[][]int) func(func() (int, error)) ([]testcontainers.ContainerCustomizer, error) {
	return func(pick func() (int, error)) ([]testcontainers.ContainerCustomizer, error) {
		var ports []int
		for range n {
			p, err := pick()
			if err != nil {
				return nil, err
			}
			ports = append(ports, p)
		}
		*attempts = append(*attempts, ports)
		return nil, nil
	}
}

func TestRunPublishedRetriesClashes(t *testing.T) {
	starts := dockerPlayer(t, 2, nil)
	var attempts [][]int
	c, err := runPublished(context.Background(), Options{}, "img", setupRecorder(3, &attempts))
	if err != nil || c == nil {
		t.Fatalf("after two clashes: %v, %v", c, err)
	}
	if *starts != 3 || len(attempts) != 3 {
		t.Fatalf("%d starts, %d setups; want 3 each", *starts, len(attempts))
	}
	for _, ports := range attempts {
		for _, port := range ports { // every attempt's ports were released for Docker
			l, err := net.Listen("tcp", loopbackAddr(port))
			if err != nil {
				t.Fatalf("port %d still held: %v", port, err)
			}
			l.Close()
		}
	}
}

func TestRunPublishedGivesUp(t *testing.T) {
	starts := dockerPlayer(t, startAttempts+1, nil)
	var attempts [][]int
	if _, err := runPublished(context.Background(), Options{}, "img", setupRecorder(1, &attempts)); err == nil || !isPortClash(err) {
		t.Fatalf("clashing forever: %v", err)
	}
	if *starts != startAttempts {
		t.Errorf("%d starts, want %d", *starts, startAttempts)
	}
}

func TestRunPublishedOtherErrors(t *testing.T) {
	starts := dockerPlayer(t, 0, fmt.Errorf("no such image"))
	var attempts [][]int
	if _, err := runPublished(context.Background(), Options{}, "img", setupRecorder(1, &attempts)); err == nil || *starts != 1 {
		t.Fatalf("a failure other than a clash was retried (%d starts) or lost: %v", *starts, err)
	}
}
