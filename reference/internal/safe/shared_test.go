package safe

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// A caller that gives up gets its own error at once; the run goes on for the other callers.
// (That concurrent callers share one run is singleflight's, and the catalog's tests count it.)
func TestSharedOutlivesACallerThatGivesUp(t *testing.T) {
	s := &Shared{Timeout: time.Second, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), What: "things"}
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	fn := func(ctx context.Context) (any, error) {
		once.Do(func() { close(started) })
		select {
		case <-release:
			return "answer", nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	var wg sync.WaitGroup
	answers := make(chan any, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := s.Call(context.Background(), "k", fn)
			if err != nil {
				t.Error(err)
			}
			answers <- v
		}()
	}
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := s.Call(ctx, "k", fn); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "things") {
		t.Fatalf("a caller whose context ended: %v", err)
	}
	close(release)
	wg.Wait()
	close(answers)
	for v := range answers {
		if v != "answer" {
			t.Fatalf("answer %v", v)
		}
	}
}

func TestSharedAnswersAPanicAsAnError(t *testing.T) {
	s := &Shared{Timeout: time.Second, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), What: "grants"}
	_, err := s.Call(context.Background(), "k", func(context.Context) (any, error) { panic("boom") })
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v, want the panic as an error", err)
	}
}

func TestSharedBoundsTheRun(t *testing.T) {
	s := &Shared{Timeout: 20 * time.Millisecond, What: "topics"}
	_, err := s.Call(context.Background(), "k", func(ctx context.Context) (any, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the run's own timeout", err)
	}
}
