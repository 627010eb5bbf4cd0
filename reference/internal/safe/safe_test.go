package safe

import (
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
)

func TestGoRecovers(t *testing.T) {
	var wg sync.WaitGroup
	wg.Add(1)
	Go(slog.New(slog.NewTextHandler(io.Discard, nil)), "test", func() {
		defer wg.Done()
		panic("boom")
	})
	wg.Wait() // reaching here means the panic did not end the test binary
}

func TestCall(t *testing.T) {
	if err := Call(func() error { panic("boom") }); err == nil {
		t.Error("a panic must come back as an error")
	}
	want := errors.New("plain")
	if err := Call(func() error { return want }); err != want {
		t.Errorf("got %v, want the function's own error", err)
	}
}
