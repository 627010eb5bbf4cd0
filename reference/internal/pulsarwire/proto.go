// Package pulsarwire speaks just enough of Pulsar's binary protocol to publish ready-made
// batch entries, many in flight and in order, and to read topics back entry by entry.
//
// pulsar-client-go closes a batch only when flushed, and its flush waits for the batch's
// acknowledgement; a flush also travels apart from the messages, so a later batch's messages
// may join an earlier batch's entry. A Kafka batch must stay one Pulsar entry, so with it a
// partition carried one Kafka batch at a time. Here an entry is built whole and sent as one
// frame: the next may follow before the first is acknowledged.
//
// A producer has no resend: any failure (a send error, a lost connection, the broker closing
// the producer, an acknowledgement not in time) fails every entry still in flight as in
// doubt, and the producer is done. The caller makes a new one; Pulsar may have stored what
// was in doubt, which the caller settles by reading back, as it does for any write in doubt.
//
// A reader (reader.go) is a non-durable subscription that hands out each entry's messages,
// decoded in the caller's goroutine; it costs a topic a channel and a map entry, where
// pulsar-client-go's reader costs several goroutines and queues. It has no reconnect either:
// the caller opens another after the last message it got.
package pulsarwire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// Command types and the BaseCommand fields that carry them (the same numbers for these).
const (
	cmdConnect               = 2
	cmdConnected             = 3
	cmdSubscribe             = 4
	cmdProducer              = 5
	cmdSend                  = 6
	cmdSendReceipt           = 7
	cmdSendError             = 8
	cmdMessage               = 9
	cmdAck                   = 10
	cmdFlow                  = 11
	cmdSuccess               = 13
	cmdError                 = 14
	cmdCloseProducer         = 15
	cmdCloseConsumer         = 16
	cmdProducerSuccess       = 17
	cmdPing                  = 18
	cmdPong                  = 19
	cmdLookup                = 23
	cmdLookupResponse        = 24
	cmdLastMessageID         = 29
	cmdLastMessageIDResponse = 30
	cmdAuthChallenge         = 36
	cmdAuthResponse          = 37
)

// protocolVersion is the Pulsar protocol spoken: v19 (broker entry metadata is v18).
const protocolVersion = 19

// maxFrame bounds a frame read from the broker at least (see conn.frameLimit).
const maxFrame = 8 << 20

// defaultMaxMessage is Pulsar's default max_message_size, for a broker that does not say.
const defaultMaxMessage = 5 << 20

// maxEntry bounds the max_message_size a broker may announce: frames up to it are read whole.
const maxEntry = 128 << 20

// dialTimeout bounds connecting to a broker (pulsar-client-go's default).
const dialTimeout = 10 * time.Second

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// field is one decoded protobuf field: a varint or a length-delimited value.
type field struct {
	num   protowire.Number
	v     uint64
	bytes []byte
}

// eachField calls f with each field of protobuf message b, in order: a varint's value or a
// length-delimited field's bytes (other types come with neither).
func eachField(b []byte, f func(num protowire.Number, typ protowire.Type, v uint64, bs []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var (
			v  uint64
			bs []byte
		)
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			bs, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if err := f(num, typ, v, bs); err != nil {
			return err
		}
	}
	return nil
}

// fields decodes a protobuf message's fields (varint and length-delimited; others skipped).
func fields(b []byte) ([]field, error) {
	var out []field
	err := eachField(b, func(num protowire.Number, _ protowire.Type, v uint64, bs []byte) error {
		out = append(out, field{num: num, v: v, bytes: bs})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// msg is a decoded message: the last value of each field number.
type msg map[protowire.Number]field

func decode(b []byte) (msg, error) {
	fs, err := fields(b)
	if err != nil {
		return nil, err
	}
	m := make(msg, len(fs))
	for _, f := range fs {
		m[f.num] = f
	}
	return m, nil
}

func (m msg) uint(n protowire.Number) uint64 { return m[n].v }
func (m msg) has(n protowire.Number) bool    { _, ok := m[n]; return ok }
func (m msg) str(n protowire.Number) string  { return string(m[n].bytes) }
func (m msg) sub(n protowire.Number) (msg, error) {
	return decode(m[n].bytes)
}

// command is a decoded BaseCommand: its type and the message of that type.
type command struct {
	typ  int
	body msg
}

func decodeCommand(b []byte) (command, error) {
	base, err := decode(b)
	if err != nil {
		return command{}, fmt.Errorf("pulsar command: %w", err)
	}
	if !base.has(1) {
		return command{}, errors.New("pulsar command without a type")
	}
	c := command{typ: int(base.uint(1))}
	if c.body, err = base.sub(protowire.Number(c.typ)); err != nil {
		return command{}, fmt.Errorf("pulsar command %d: %w", c.typ, err)
	}
	return c, nil
}

// Encoding helpers: each appends one field.
func putVarint(b []byte, n protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, n, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func putBytes(b []byte, n protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, n, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func putString(b []byte, n protowire.Number, v string) []byte {
	b = protowire.AppendTag(b, n, protowire.BytesType)
	return protowire.AppendString(b, v)
}

// baseCommand wraps body as the BaseCommand of type typ.
func baseCommand(typ int, body []byte) []byte {
	b := putVarint(nil, 1, uint64(typ))
	return putBytes(b, protowire.Number(typ), body)
}

// simpleFrame is a frame of one command: [total size][command size][command].
func simpleFrame(cmd []byte) []byte {
	f := make([]byte, 8, 8+len(cmd))
	binary.BigEndian.PutUint32(f, uint32(4+len(cmd)))
	binary.BigEndian.PutUint32(f[4:], uint32(len(cmd)))
	return append(f, cmd...)
}

// payloadHead is a frame of a command with a message, [total size][command size][command]
// [magic 0x0e01][CRC32-C of what follows][metadata size][metadata][payload], without its
// payload: the payload is written after it, not copied.
func payloadHead(cmd, metadata, payload []byte) []byte {
	total := 4 + len(cmd) + 2 + 4 + 4 + len(metadata) + len(payload)
	f := make([]byte, 0, 4+total-len(payload))
	f = binary.BigEndian.AppendUint32(f, uint32(total))
	f = binary.BigEndian.AppendUint32(f, uint32(len(cmd)))
	f = append(f, cmd...)
	f = append(f, 0x0e, 0x01)
	sumAt := len(f)
	f = append(f, 0, 0, 0, 0)
	f = binary.BigEndian.AppendUint32(f, uint32(len(metadata)))
	f = append(f, metadata...)
	sum := crc32.Update(crc32.Checksum(f[sumAt+4:], crc32c), crc32c, payload)
	binary.BigEndian.PutUint32(f[sumAt:], sum)
	return f
}

// serverError names a Pulsar ServerError code.
func serverError(code uint64, message string) error {
	return fmt.Errorf("pulsar error %d: %s", code, message)
}
