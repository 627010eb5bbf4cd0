package storage

import (
	"reflect"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/kop-conformance/kop-conformance/reference/records"
)

// fakeMessage is the part of a Pulsar message fromMessage reads.
type fakeMessage struct {
	pulsar.Message
	m     *pulsar.ProducerMessage
	index uint64
}

func (f fakeMessage) Index() *uint64                { return &f.index }
func (f fakeMessage) Properties() map[string]string { return f.m.Properties }
func (f fakeMessage) Payload() []byte               { return f.m.Payload }
func (f fakeMessage) Key() string                   { return f.m.Key }
func (f fakeMessage) EventTime() time.Time          { return f.m.EventTime }
func (f fakeMessage) PublishTime() time.Time        { return time.UnixMilli(1) }

func TestHeadersAsProperties(t *testing.T) {
	rec := records.Record{Timestamp: 1700000000000, Key: []byte("k"), Value: []byte("v"),
		Headers: []records.Header{{Key: "trace", Value: []byte("abc")}}}
	cases := []struct {
		name      string
		hide      bool
		wantPlain bool // a native Pulsar consumer sees the header as a property
		wantCoded bool // the private encoding is written
	}{
		{"headers are Pulsar properties", false, true, false},
		{"fault headers-hidden: only the private encoding", true, false, true},
	}
	for _, tc := range cases {
		m := toMessage(&rec, tc.hide)
		_, plain := m.Properties["trace"]
		_, coded := m.Properties[propHeaders]
		if plain != tc.wantPlain || coded != tc.wantCoded {
			t.Errorf("%s: properties %v", tc.name, m.Properties)
		}
		// Either way the gateway reads the record back intact.
		got, err := fromMessage(fakeMessage{m: m, index: 3})
		if err != nil {
			t.Fatal(err)
		}
		if got.Offset != 3 || !reflect.DeepEqual(got.Headers, rec.Headers) || string(got.Key) != "k" || string(got.Value) != "v" || got.Timestamp != rec.Timestamp {
			t.Errorf("%s: read back %+v", tc.name, got)
		}
	}
}

// On the wire a header key given twice is one property, with the last value, and the exact
// header list keeps both; the gateway's own properties come once each.
func TestToWireDuplicateHeaders(t *testing.T) {
	rec := records.Record{Timestamp: -1, Key: []byte{}, Value: nil,
		Headers: []records.Header{{Key: "a", Value: []byte("1")}, {Key: "b", Value: nil}, {Key: "a", Value: []byte("2")}}}
	m := toWire(&rec, false, nil)
	got := map[string][]string{}
	for _, p := range m.Properties {
		got[p.Key] = append(got[p.Key], p.Value)
	}
	hs, err := decodeHeaders(got[propHeaders][0])
	if err != nil || !reflect.DeepEqual(hs, rec.Headers) {
		t.Fatalf("exact headers %+v, %v; want %+v", hs, err, rec.Headers)
	}
	delete(got, propHeaders)
	want := map[string][]string{"a": {"2"}, "b": {""}, propEmptyKey: {"1"}, propNullValue: {"1"}, propTimestamp: {"-1"}}
	if !reflect.DeepEqual(got, want) || m.HasKey || len(m.Payload) != 0 || m.Payload == nil {
		t.Fatalf("properties %v (want %v), key %v, payload %v", got, want, m.HasKey, m.Payload)
	}
}
