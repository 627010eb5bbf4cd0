package storage

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/twmb/franz-go/pkg/kbin"

	"github.com/kop-conformance/kop-conformance/reference/internal/partition"
	"github.com/kop-conformance/kop-conformance/reference/internal/pulsarwire"
	"github.com/kop-conformance/kop-conformance/reference/records"
)

// Reserved Pulsar message properties that carry what a plain Pulsar message cannot say.
// Kafka headers are also written as ordinary properties so Pulsar consumers see them (unless
// the test-only fault faults.HeadersHidden hides them), except a header whose key starts with
// the reserved prefix: it is kept only inside __kafka.headers, so a client's header can never
// stand in for the gateway's metadata, and it is read back exactly as the client sent it.
const (
	propPrefix    = "__kafka."
	propNullValue = propPrefix + "null-value"
	propEmptyKey  = propPrefix + "empty-key"
	propTimestamp = propPrefix + "timestamp"
	propHeaders   = propPrefix + "headers"
	// propProducer is on the first message of an idempotent producer's batch: its id, epoch and
	// first and last sequence numbers, so the dedupe window can be rebuilt from Pulsar.
	propProducer = propPrefix + "producer"
	// propWrite is on the first message of every batch: a random id, so that a batch Pulsar
	// acknowledges without a position (deduplication of a resent entry) can still be found.
	propWrite = propPrefix + "write"
)

// writeOf is the write id of the batch msg starts, if msg starts one.
func writeOf(msg message) (uint64, bool) {
	if _, b := place(msg); b > 0 {
		return 0, false
	}
	return parseWrite(msg.Properties())
}

// parseWrite is the write id among a batch's first message's (or its entry's) properties.
func parseWrite(props map[string]string) (uint64, bool) {
	v, ok := props[propWrite]
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseUint(v, 16, 64)
	return id, err == nil
}

func encodeProducer(p *partition.Producer) string {
	return fmt.Sprintf("%d/%d/%d/%d", p.ID, p.Epoch, p.FirstSeq, p.LastSeq)
}

// decodeProducer reads propProducer; a value that does not parse is no producer.
func decodeProducer(s string) (*partition.Producer, bool) {
	f := strings.Split(s, "/")
	if len(f) != 4 {
		return nil, false
	}
	id, e1 := strconv.ParseInt(f[0], 10, 64)
	epoch, e2 := strconv.ParseInt(f[1], 10, 16)
	first, e3 := strconv.ParseInt(f[2], 10, 32)
	last, e4 := strconv.ParseInt(f[3], 10, 32)
	if e1 != nil || e2 != nil || e3 != nil || e4 != nil || id < 0 {
		return nil, false
	}
	return &partition.Producer{ID: id, Epoch: int16(epoch), FirstSeq: int32(first), LastSeq: int32(last)}, true
}

// producerOf is the idempotent producer of the batch msg starts, if msg starts one.
func producerOf(msg message) *partition.Producer {
	if _, b := place(msg); b > 0 {
		return nil
	}
	v, ok := msg.Properties()[propProducer]
	if !ok {
		return nil
	}
	p, _ := decodeProducer(v)
	return p
}

// toWire maps a Kafka record to a Pulsar message: key -> key, value -> payload,
// headers -> properties (appended to props, which the caller may reuse), timestamp -> event
// time. hideHeaders is the test-only fault faults.HeadersHidden: headers are written only
// inside the private __kafka.headers property, so a native Pulsar consumer does not see them
// (the gateway still reads them back).
func toWire(r *records.Record, hideHeaders bool, props []pulsarwire.Property) pulsarwire.Message {
	m := pulsarwire.Message{Payload: r.Value, Key: string(r.Key), HasKey: len(r.Key) > 0}
	if r.Key != nil && len(r.Key) == 0 {
		props = append(props, pulsarwire.Property{Key: propEmptyKey, Value: "1"})
	}
	if r.Value == nil {
		props = append(props, pulsarwire.Property{Key: propNullValue, Value: "1"})
		m.Payload = []byte{}
	}
	if r.Timestamp > 0 {
		m.EventTime = uint64(r.Timestamp)
	} else {
		// Event time 0 means "unset" in Pulsar; keep Kafka's exact value.
		props = append(props, pulsarwire.Property{Key: propTimestamp, Value: strconv.FormatInt(r.Timestamp, 10)})
	}
	exact := len(r.Headers) > 1 || hideHeaders && len(r.Headers) > 0
	var at map[string]int // with several headers: where each key's property is, the last value kept
	for _, h := range r.Headers {
		if hideHeaders {
			continue
		}
		if reserved(h.Key) {
			exact = true // kept only in the exact list, never as a property of its own
			continue
		}
		if h.Value == nil {
			exact = true
		}
		if len(r.Headers) > 1 {
			if at == nil {
				at = make(map[string]int, len(r.Headers))
			}
			if i, dup := at[h.Key]; dup {
				props[i].Value = string(h.Value)
				continue
			}
			at[h.Key] = len(props)
		}
		props = append(props, pulsarwire.Property{Key: h.Key, Value: string(h.Value)})
	}
	if exact {
		// Properties are unordered and unique; keep the exact, ordered header list as well.
		props = append(props, pulsarwire.Property{Key: propHeaders, Value: encodeHeaders(r.Headers)})
	}
	m.Properties = props
	return m
}

// toMessage is toWire for pulsar-client-go's producer.
func toMessage(r *records.Record, hideHeaders bool) *pulsar.ProducerMessage {
	return producerMessage(toWire(r, hideHeaders, nil))
}

// producerMessage is w for pulsar-client-go's producer.
func producerMessage(w pulsarwire.Message) *pulsar.ProducerMessage {
	m := &pulsar.ProducerMessage{Payload: w.Payload, Key: w.Key}
	if w.EventTime > 0 {
		m.EventTime = time.UnixMilli(int64(w.EventTime))
	}
	if len(w.Properties) > 0 {
		m.Properties = make(map[string]string, len(w.Properties))
		for _, p := range w.Properties {
			m.Properties[p.Key] = p.Value
		}
	}
	return m
}

// fromMessage maps a Pulsar message (written by the gateway or by any Pulsar producer) back to a
// Kafka record. The offset is the broker entry index; a message without it is an error, because
// it means Pulsar does not expose broker entry metadata.
func fromMessage(msg message) (records.Record, error) {
	idx := msg.Index()
	if idx == nil {
		return records.Record{}, errNoIndex
	}
	props := msg.Properties()
	r := records.Record{Offset: int64(*idx), Value: msg.Payload()}
	if _, ok := props[propNullValue]; ok {
		r.Value = nil
	} else if r.Value == nil {
		r.Value = []byte{}
	}
	if k := msg.Key(); k != "" {
		r.Key = []byte(k)
	} else if _, ok := props[propEmptyKey]; ok {
		r.Key = []byte{}
	}
	switch {
	case props[propTimestamp] != "":
		r.Timestamp, _ = strconv.ParseInt(props[propTimestamp], 10, 64)
	case msg.EventTime().UnixMilli() > 0: // pulsar-client-go gives 1970 for an unset one
		r.Timestamp = msg.EventTime().UnixMilli()
	default:
		r.Timestamp = msg.PublishTime().UnixMilli()
	}
	if enc, ok := props[propHeaders]; ok {
		if hs, err := decodeHeaders(enc); err == nil {
			r.Headers = hs
			return r, nil
		}
	}
	for k, v := range props {
		if reserved(k) {
			continue
		}
		r.Headers = append(r.Headers, records.Header{Key: k, Value: []byte(v)})
	}
	return r, nil
}

// reserved says whether a property name is the gateway's (a Kafka header of that name is kept
// only in the exact header list).
func reserved(key string) bool { return strings.HasPrefix(key, propPrefix) }

func encodeHeaders(hs []records.Header) string {
	var b []byte
	b = kbin.AppendVarint(b, int32(len(hs)))
	for _, h := range hs {
		b = kbin.AppendVarintString(b, h.Key)
		b = kbin.AppendVarintBytes(b, h.Value)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func decodeHeaders(s string) ([]records.Header, error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	rd := kbin.Reader{Src: raw}
	n := rd.Varint()
	if n < 0 || int(n) > len(raw) {
		return nil, fmt.Errorf("bad header count %d", n)
	}
	hs := make([]records.Header, 0, n)
	for i := int32(0); i < n; i++ {
		hs = append(hs, records.Header{Key: rd.VarintString(), Value: rd.VarintBytes()})
	}
	return hs, rd.Complete()
}
