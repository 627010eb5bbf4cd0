package server

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/protocol"
)

// handlerFunc answers one request; a nil response sends nothing (Produce with acks=0), an
// error closes the connection.
type handlerFunc func(context.Context, *reqCtx, kmsg.Request) (kmsg.Response, error)

// handler serves one API key over a range of versions.
type handler struct {
	min, max int16
	fn       handlerFunc
}

// handlers is filled by each API file's init.
var handlers = map[int16]handler{}

// register adds the handler of an API; a second handler for a key, or versions kmsg cannot
// encode, is a programming error and stops the program at start.
func register(key kmsg.Key, min, max int16, fn handlerFunc) {
	if err := checkRegistration(handlers, key, min, max); err != nil {
		panic(err)
	}
	handlers[key.Int16()] = handler{min: min, max: max, fn: fn}
}

func checkRegistration(registered map[int16]handler, key kmsg.Key, min, max int16) error {
	req := kmsg.RequestForKey(key.Int16())
	switch {
	case req == nil:
		return fmt.Errorf("register: unknown API key %d", key)
	case registered[key.Int16()].fn != nil:
		return fmt.Errorf("register: %s registered twice", kmsg.NameForKey(key.Int16()))
	case min < 0 || min > max || max > req.MaxVersion():
		return fmt.Errorf("register: %s v%d–%d is not a range of its versions 0–%d", kmsg.NameForKey(key.Int16()), min, max, req.MaxVersion())
	}
	return nil
}

// Implemented is every API version the server implements, before any level cap.
func Implemented() protocol.Table {
	t := protocol.Table{}
	for k, h := range handlers {
		t[k] = protocol.Range{Min: h.min, Max: h.max}
	}
	return t
}

// reqCtx is what a handler knows about the request beyond its body.
type reqCtx struct {
	s        *Server
	listener *Listener
	header   protocol.Header
	conn     *conn
}

// noResponse is returned by handlers that must not answer (produce with acks=0).
var noResponse kmsg.Response = nil
