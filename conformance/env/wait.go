package env

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/testcontainers/testcontainers-go/wait"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// KafkaAPIStrategy is a testcontainers wait strategy: ready once the container's listener on
// Port answers an ApiVersions request. A published Docker port accepts TCP connections before
// the process inside listens (Docker's proxy accepts them), so neither a connect nor a log
// line proves that the server serves: a real request does. It never execs into the container
// (the reference image is FROM scratch) and fails at once if the container stops running.
type KafkaAPIStrategy struct {
	Port         string // the container port, "9092/tcp"
	PollInterval time.Duration
	timeout      *time.Duration
}

var (
	_ wait.Strategy        = (*KafkaAPIStrategy)(nil)
	_ wait.StrategyTimeout = (*KafkaAPIStrategy)(nil)
)

// ForKafkaAPI waits until the listener on the container port answers ApiVersions.
func ForKafkaAPI(port string) *KafkaAPIStrategy {
	return &KafkaAPIStrategy{Port: port, PollInterval: 250 * time.Millisecond}
}

// WithStartupTimeout bounds the whole wait (one minute unless set).
func (s *KafkaAPIStrategy) WithStartupTimeout(d time.Duration) *KafkaAPIStrategy {
	s.timeout = &d
	return s
}

// Timeout is the startup timeout, nil when unset (wait.ForAll may then set its default).
func (s *KafkaAPIStrategy) Timeout() *time.Duration { return s.timeout }

func (s *KafkaAPIStrategy) String() string {
	return fmt.Sprintf("port %s answering Kafka ApiVersions", s.Port)
}

// WaitUntilReady polls the mapped port of target until an ApiVersions request is answered.
func (s *KafkaAPIStrategy) WaitUntilReady(ctx context.Context, target wait.StrategyTarget) error {
	within := time.Minute
	if s.timeout != nil {
		within = *s.timeout
	}
	host, err := target.Host(ctx)
	if err != nil {
		return fmt.Errorf("kafka api wait: host: %w", err)
	}
	port, err := target.MappedPort(ctx, s.Port)
	if err != nil {
		return fmt.Errorf("kafka api wait: mapped port %s: %w", s.Port, err)
	}
	running := func(ctx context.Context) error {
		st, err := target.State(ctx)
		switch {
		case err != nil:
			return fmt.Errorf("container state: %w", err)
		case !st.Running:
			return fmt.Errorf("container is %s (exit code %d)", st.Status, st.ExitCode)
		}
		return nil
	}
	return answersAPIVersions(ctx, net.JoinHostPort(host, port.Port()), within, s.PollInterval, running)
}

// answersAPIVersions polls addr with ApiVersions requests until one is answered, the time is
// up, or alive (when set) reports that the server is gone.
func answersAPIVersions(ctx context.Context, addr string, within, every time.Duration, alive func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	var last error
	for {
		last = askAPIVersions(ctx, addr)
		if last == nil {
			return nil
		}
		if alive != nil && ctx.Err() == nil {
			if err := alive(ctx); err != nil {
				return fmt.Errorf("%s did not answer ApiVersions: %w (last: %v)", addr, err, last)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not answer ApiVersions within %s: %v", addr, within, last)
		case <-time.After(every):
		}
	}
}

// askAPIVersions sends one ApiVersions request, with no retries, and gives up when ctx ends
// even if the client has not (a connection's first request is bounded by kgo's own timeout,
// not only by the context; the client closes in the background then).
func askAPIVersions(ctx context.Context, addr string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RequestRetries(0), kgo.DialTimeout(2*time.Second), kgo.RequestTimeoutOverhead(time.Second))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	answer := make(chan error, 1)
	go func() {
		defer cl.Close()
		defer cancel()
		_, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
		answer <- err
	}()
	select {
	case err := <-answer:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
