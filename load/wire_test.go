package load

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kfakeTarget is franz-go's in-process cluster, one broker.
func kfakeTarget(t *testing.T, name string) Target {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return Target{Name: name, Bootstrap: c.ListenAddrs()[0]}
}

// The raw connection negotiates versions, decodes flexible and older answers, and gives up
// on a silent server at its deadline.
func TestConn(t *testing.T) {
	ctx := context.Background()
	tg := kfakeTarget(t, "kafka")
	c, err := dialReady(ctx, tg.Bootstrap, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if v, err := c.Version(kmsg.Metadata, metadataVersion); err != nil || v != metadataVersion {
		t.Fatalf("Metadata at %d, %v", v, err)
	}
	if _, err := c.Version(kmsg.Key(999), 1); err == nil {
		t.Fatal("a key the server does not serve has a version")
	}
	for _, v := range []int16{0, 7, 9} { // older, the suite's, flexible
		req := kmsg.NewPtrMetadataRequest()
		req.Version = v
		if v > 0 {
			req.Topics = nil
		}
		if _, err := c.Do(ctx, req); err != nil {
			t.Fatalf("Metadata v%d: %v", v, err)
		}
	}
	if _, err := c.createTopics(ctx, 2, "wire"); err != nil {
		t.Fatal(err)
	}
	off, err := c.produceOne(ctx, "wire", 1, []byte("v"), time.Second)
	if err != nil || off != 0 {
		t.Fatalf("produce: offset %d, %v", off, err)
	}
	if err := c.fetchFrom(ctx, "wire", 1, off); err != nil {
		t.Fatal(err)
	}
	if err := c.fetchFrom(ctx, "wire", 0, 0); err == nil {
		t.Fatal("an empty partition fetched records")
	}
	if _, err := c.produceOne(ctx, "nosuch", 0, []byte("v"), time.Second); err == nil || kind("Produce", err) != "Produce: UNKNOWN_TOPIC_OR_PARTITION" {
		t.Fatalf("produce to a missing topic: %v (%s)", err, kind("Produce", err))
	}

	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	s, err := Dial(ctx, silent.Addr().String(), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := s.ApiVersions(tctx); !errors.Is(err, ErrTimeout) || kind("ApiVersions", err) != "ApiVersions: timed out" {
		t.Fatalf("a silent server: %v", err)
	}
}

// A record batch the cluster stores and hands back as it was sent.
func TestRecordBatch(t *testing.T) {
	raw := recordBatch([]byte("hello"), time.UnixMilli(1700000000000))
	var b kmsg.RecordBatch
	if err := b.ReadFrom(raw); err != nil {
		t.Fatal(err)
	}
	if b.Magic != 2 || b.NumRecords != 1 || int(b.Length) != len(raw)-12 || b.FirstTimestamp != 1700000000000 || b.ProducerID != -1 {
		t.Fatalf("batch %+v", b)
	}
	var rec kmsg.Record
	if err := rec.ReadFrom(b.Records); err != nil || string(rec.Value) != "hello" || rec.Key != nil {
		t.Fatalf("record %+v, %v", rec, err)
	}
}
