package storage

import (
	"reflect"
	"testing"

	"github.com/kop-conformance/kop-conformance/reference/records"
)

// A Kafka client may name its headers anything, the gateway's reserved property prefix
// included: such headers come back exactly as sent, and never stand in for the metadata the
// gateway keeps in those properties.
func TestReservedHeaderNames(t *testing.T) {
	h := func(k, v string) records.Header { return records.Header{Key: k, Value: []byte(v)} }
	cases := []struct {
		name string
		rec  records.Record
	}{
		{"an offset header", records.Record{Timestamp: 1700000000000, Key: []byte("k"), Value: []byte("v"),
			Headers: []records.Header{h("__kafka.offset", "42")}}},
		{"a null-value header on a record with a value", records.Record{Timestamp: 1700000000000, Value: []byte("v"),
			Headers: []records.Header{h(propNullValue, "1")}}},
		{"an empty-key header on a record without a key", records.Record{Timestamp: 1700000000000, Value: []byte("v"),
			Headers: []records.Header{h(propEmptyKey, "1")}}},
		{"a timestamp header", records.Record{Timestamp: 1700000000000, Value: []byte("v"),
			Headers: []records.Header{h(propTimestamp, "5")}}},
		{"a timestamp header on a record at timestamp -1", records.Record{Timestamp: -1, Value: []byte("v"),
			Headers: []records.Header{h(propTimestamp, "5")}}},
		{"a headers header", records.Record{Timestamp: 1700000000000, Value: []byte("v"),
			Headers: []records.Header{h(propHeaders, "not base64!")}}},
		{"every reserved name, with ordinary headers around them", records.Record{Timestamp: 1700000000000, Key: []byte("k"), Value: nil,
			Headers: []records.Header{h("trace", "a"), h(propHeaders, "x"), h(propNullValue, "0"), h(propEmptyKey, "0"),
				h(propTimestamp, "7"), {Key: "__kafka.offset"}, h("trace", "b")}}},
	}
	for _, tc := range cases {
		for _, hide := range []bool{false, true} {
			m := toMessage(&tc.rec, hide)
			got, err := fromMessage(fakeMessage{m: m, index: 3})
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			want := tc.rec
			want.Offset = 3
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s (headers hidden: %v): read back\n %+v\nwant\n %+v\nproperties %v", tc.name, hide, got, want, m.Properties)
			}
		}
	}
}
