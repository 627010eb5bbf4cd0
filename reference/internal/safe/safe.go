// Package safe runs the gateway's own goroutines so that a panic in one is logged and
// recovered instead of taking the whole server down: one hostile request or one bad record
// must cost at most the work it started.
package safe

import (
	"fmt"
	"log/slog"
	"runtime/debug"
)

// Go runs fn in a new goroutine, recovering and logging a panic (with its stack) under what.
func Go(log *slog.Logger, what string, fn func()) {
	go func() {
		defer Recover(log, what)
		fn()
	}()
}

// Recover, deferred, logs and swallows a panic of the goroutine it runs in. Use it at the top
// of goroutines that cannot be started with Go.
func Recover(log *slog.Logger, what string) {
	if r := recover(); r != nil {
		logPanic(log, what, r)
	}
}

// logPanic logs a recovered panic r with the stack it unwound (nil log: the default logger).
func logPanic(log *slog.Logger, what string, r any) {
	if log == nil {
		log = slog.Default()
	}
	log.Error("recovered from a panic", "in", what, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
}

// Call runs fn and returns a panic inside it as an error, so a caller can answer with an error
// instead of crashing. Locks fn takes must be released with defer for this to leave them free.
func Call(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return fn()
}
