package suite

import (
	"bytes"
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/types"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
)

// sampleRecords covers what a record can carry: keys, a null key, an empty key, null and empty
// values, ordered headers (one with a null value), and distinct millisecond timestamps.
func sampleRecords(topic string, n int) []clients.Record {
	base := time.UnixMilli(time.Now().Add(-time.Hour).UnixMilli())
	out := make([]clients.Record, n)
	for i := range out {
		r := clients.Record{Topic: topic, Timestamp: base.Add(time.Duration(i) * time.Second)}
		switch i % 5 {
		case 0:
			r.Key, r.Value = []byte(fmt.Sprintf("key-%d", i)), []byte(fmt.Sprintf("value-%d", i))
			r.Headers = []clients.Header{{Key: "trace", Value: []byte(fmt.Sprintf("t-%d", i))}, {Key: "seq", Value: []byte{byte(i)}}}
		case 1:
			r.Key, r.Value = []byte(fmt.Sprintf("key-%d", i)), nil // null value (a tombstone)
		case 2:
			r.Key, r.Value = nil, []byte(fmt.Sprintf("value-%d", i)) // null key
		case 3:
			r.Key, r.Value = []byte{}, []byte{} // empty, not null
		case 4:
			r.Key, r.Value = []byte("k"), bytes.Repeat([]byte{0, 1, 2, 255}, 256)
			r.Headers = []clients.Header{{Key: "dup", Value: []byte("1")}, {Key: "dup", Value: []byte("2")}, {Key: "nullable", Value: nil}}
		}
		out[i] = r
	}
	return out
}

// acksAll is how specs produce unless they test the producer's settings: acks=all, no
// compression, not idempotent.
var acksAll = clients.ProduceConfig{Acks: clients.AcksAll}

// expectLog checks that produced got offsets 0.. in order and that partition 0 of topic reads
// back as want from offset 0.
func expectLog(ctx context.Context, cl clients.Client, topic string, produced, want []clients.Record) {
	GinkgoHelper()
	for i, r := range produced {
		Expect(r.Offset).To(Equal(int64(i)), "offset of record %d", i)
	}
	// Bounded well below the spec's timeout: a record that never comes fails here, with the
	// count read, rather than as a spec timeout.
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	got, err := cl.Consume(cctx, clients.ConsumeConfig{}, topic, 0, 0, len(want))
	Expect(err).NotTo(HaveOccurred())
	for i := range want {
		Expect(got[i]).To(matchRecord(want[i], int64(i)), "record %d", i)
	}
}

// roundTrip creates a one-partition topic for the cell, produces n sample records with
// acks=all and checks that they read back exactly from offset 0; it returns the topic and the
// records.
func roundTrip(ctx context.Context, cl clients.Client, c cell, feature string, n int) (string, []clients.Record) {
	GinkgoHelper()
	topic := newTopic(ctx, cl, c, feature, 1)
	want := sampleRecords(topic, n)
	produced, err := cl.Produce(ctx, acksAll, want)
	Expect(err).NotTo(HaveOccurred())
	expectLog(ctx, cl, topic, produced, want)
	return topic, want
}

// matchRecord checks everything a consumer sees of a record against what was produced.
func matchRecord(want clients.Record, offset int64) types.GomegaMatcher {
	return And(
		WithTransform(func(r clients.Record) int64 { return r.Offset }, Equal(offset)),
		WithTransform(func(r clients.Record) string { return describeBytes(r.Key) }, Equal(describeBytes(want.Key))),
		WithTransform(func(r clients.Record) string { return describeBytes(r.Value) }, Equal(describeBytes(want.Value))),
		WithTransform(func(r clients.Record) []string { return describeHeaders(r.Headers) }, Equal(describeHeaders(want.Headers))),
		WithTransform(func(r clients.Record) int64 { return r.Timestamp.UnixMilli() }, Equal(want.Timestamp.UnixMilli())),
	)
}

// emptyAsNull is set for specs whose only client cannot tell an empty key, value or header
// value from a null one when it consumes (kafka-go's Reader, clients.Kind.EmptyAsNull): their
// records compare empty as null. The other clients' cells keep the distinction as evidence.
var emptyAsNull bool

func describeBytes(b []byte) string {
	if b == nil || emptyAsNull && len(b) == 0 {
		return "<null>"
	}
	return fmt.Sprintf("%q", b)
}

// describeHeaders renders headers in order. A null header value and an empty one are told
// apart only by clients that can tell them apart; all three here can.
func describeHeaders(hs []clients.Header) []string {
	out := make([]string, 0, len(hs))
	for _, h := range hs {
		out = append(out, h.Key+"="+describeBytes(h.Value))
	}
	return out
}
