package server

import (
	"fmt"
	"runtime/debug"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Produce pipelining. A connection answers its requests in order, and Kafka serves a
// connection one request at a time. A Produce here does its ordered part (decoding, the
// idempotence check, sending each partition's entry to Pulsar) before the next request is
// read; only its wait for Pulsar's acknowledgements overlaps what follows. Up to maxPipelined
// produces wait at once, and their responses are written in order as they complete. Any
// other request waits until every response before it is written, so it sees their effects.
// Entries sent one after another on a partition are stored in that order (partition.Log's
// Begin), so the outcome is the one serving one request at a time would give.

// maxPipelined is how many produces of one connection wait for Pulsar at once (a Kafka
// client sends at most five).
const maxPipelined = 8

// pipelinedResponse is a response still being made: finish completes it.
type pipelinedResponse struct {
	kmsg.Response
	finish func()
}

// canPipeline says whether a produce may be answered later: not before authentication ends
// (a SASL deadline bounds the request's context).
func (cn *conn) canPipeline() bool { return cn.saslDeadline.IsZero() }

// drain waits until every pipelined response has been written.
func (cn *conn) drain() {
	if cn.tail != nil {
		<-cn.tail
		cn.tail = nil
	}
}

// pipeline finishes pr on a goroutine of its own and writes it after the responses before it
// (write returns false when the connection must close); release gives the frame's in-flight
// bytes back once it is written.
func (cn *conn) pipeline(pr *pipelinedResponse, write func(kmsg.Response) bool, release func()) {
	if cn.slots == nil {
		cn.slots = make(chan struct{}, maxPipelined)
	}
	cn.slots <- struct{}{} // with all in use, the oldest frees one within the Pulsar timeout
	prev := cn.tail
	mine := make(chan struct{})
	cn.tail = mine
	go func() {
		defer close(mine)
		defer func() { <-cn.slots }()
		defer release()
		// A panic (finishing or writing) closes this connection only, as one in a handler
		// does.
		defer func() {
			if r := recover(); r != nil {
				cn.logger().Error("closing connection: handler failed", "api", "Produce",
					"err", fmt.Sprint("handler panic: ", r), "stack", string(debug.Stack()))
				cn.broken.Store(true)
				cn.c.Close() // the reader sees it and closes the connection
			}
		}()
		pr.finish()
		if prev != nil {
			<-prev
		}
		if cn.broken.Load() {
			return
		}
		if !write(pr.Response) {
			cn.broken.Store(true)
			cn.c.Close()
		}
	}()
}
