package suite

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"net"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
)

// hostileMemory is the reference container's memory cap for the whole run (env
// WithReferenceMemory): a request that makes the gateway allocate past it gets it OOM-killed.
// 2 GiB: a partition in use keeps its Pulsar tail reader and producer (idle ones are parked
// after --partition-idle-timeout), so memory grows with the partitions a run keeps busy (the
// container peaked at 916 MiB in the full matrix's reference suite, the Go soft limit being
// 80% of the cap); the claimed record counts of the bombs below would need far more.
const hostileMemory = 2 << 30

// Requests an attacker would send, each refused with its code and storing nothing; after them
// the cell's client still produces and consumes exactly. Ordered and Serial: the gateway's
// start time is taken before the first cell and compared after the last, so a crash and
// restart in between (which would hide a lost gateway) cannot pass.
var _ = Describe("hostile", Ordered, Serial, func() {
	var (
		startedAt string
		bomb      []byte // 100 MiB of zeros, gzipped (about 100 KB)
	)
	BeforeAll(func(ctx SpecContext) {
		h, err := environment.ServerHealth(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(h.MemoryLimit).To(Equal(int64(hostileMemory)), "the gateway runs under the memory cap")
		Expect(h.Running).To(BeTrue())
		startedAt = h.StartedAt
		bomb = gzipZeros(100 << 20)
	}, NodeTimeout(time.Minute))

	AfterAll(func(ctx SpecContext) {
		h, err := environment.ServerHealth(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(h.OOMKilled).To(BeFalse(), "the gateway was OOM-killed")
		Expect(h.Running).To(BeTrue(), "the gateway stopped")
		Expect(h.StartedAt).To(Equal(startedAt), "the gateway restarted during the hostile specs")
	}, NodeTimeout(time.Minute))

	var entries []TableEntry
	for _, c := range cells("hostile") {
		entries = append(entries, Entry(c.String(), c, c.labels(), SpecTimeout(2*time.Minute)))
	}
	DescribeTable("hostile requests are refused and a well-behaved client is served after them",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			raw, err := kgo.NewClient(kgo.SeedBrokers(target.Bootstrap), kgo.ClientID("hostile"), kgo.RequestRetries(0))
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(raw.Close)
			// Straight to the gateway: the client's own routing would look the topics up first.
			send := func(req kmsg.Request) kmsg.Response {
				GinkgoHelper()
				resp, err := raw.SeedBrokers()[0].Request(ctx, req)
				Expect(err).NotTo(HaveOccurred(), "%s request", kmsg.NameForKey(req.Key()))
				return resp
			}
			bombed := newTopic(ctx, cl, c, "hostile-bomb", 4)

			By("holding 8 connections that announce 90 MiB frames and send 1 KiB of each")
			for i := 0; i < 8; i++ {
				conn := dialTarget(ctx)
				DeferCleanup(conn.Close)
				_, err := conn.Write(append(binary.BigEndian.AppendUint32(nil, 90<<20), make([]byte, 1024)...))
				Expect(err).NotTo(HaveOccurred())
			}

			By("producing gzip bombs to 4 partitions: one claiming 104,857,599 records, one claiming 1")
			for _, claimed := range []int32{104_857_599, 1} {
				req := kmsg.NewPtrProduceRequest()
				req.Acks, req.TimeoutMillis = -1, 30_000
				t := kmsg.NewProduceRequestTopic()
				t.Topic = bombed
				for p := int32(0); p < 4; p++ {
					part := kmsg.NewProduceRequestTopicPartition()
					part.Partition, part.Records = p, gzipBatch(bomb, claimed)
					t.Partitions = append(t.Partitions, part)
				}
				req.Topics = append(req.Topics, t)
				resp := send(req).(*kmsg.ProduceResponse)
				Expect(resp.Topics).To(HaveLen(1))
				Expect(resp.Topics[0].Partitions).To(HaveLen(4))
				for _, p := range resp.Topics[0].Partitions {
					// Kafka refuses a batch its records do not fill as CORRUPT_MESSAGE; the gateway
					// checks the decompressed size first and answers MESSAGE_TOO_LARGE.
					Expect(p.ErrorCode).To(BeElementOf(kerr.MessageTooLarge.Code, kerr.CorruptMessage.Code),
						"partition %d of a bomb claiming %d records: %s", p.Partition, claimed, codeName(p.ErrorCode))
				}
			}
			for p := int32(0); p < 4; p++ {
				Expect(cl.ListOffset(ctx, bombed, p, clients.Latest)).To(Equal(int64(0)), "partition %d stores nothing of the bombs", p)
			}

			By("creating a topic with 2,000,000 partitions and one with a path-traversal name")
			huge := topicName(c, "hostile-huge")
			create := kmsg.NewPtrCreateTopicsRequest()
			create.TimeoutMillis = 30_000
			for _, t := range []struct {
				name       string
				partitions int32
			}{{huge, 2_000_000}, {"../../othertenant/ns/victim", 1}} {
				ct := kmsg.NewCreateTopicsRequestTopic()
				ct.Topic, ct.NumPartitions, ct.ReplicationFactor = t.name, t.partitions, 1
				create.Topics = append(create.Topics, ct)
			}
			created := send(create).(*kmsg.CreateTopicsResponse)
			codes := map[string]int16{}
			for _, t := range created.Topics {
				codes[t.Topic] = t.ErrorCode
			}
			Expect(codes).To(Equal(map[string]int16{
				huge:                          kerr.InvalidPartitions.Code,
				"../../othertenant/ns/victim": kerr.InvalidTopicException.Code,
			}))
			meta := kmsg.NewPtrMetadataRequest()
			meta.AllowAutoTopicCreation = false
			mt := kmsg.NewMetadataRequestTopic()
			mt.Topic = kmsg.StringPtr(huge)
			meta.Topics = append(meta.Topics, mt)
			described := send(meta).(*kmsg.MetadataResponse)
			Expect(described.Topics).To(HaveLen(1))
			Expect(described.Topics[0].ErrorCode).To(Equal(kerr.UnknownTopicOrPartition.Code), "the refused topic was not created")

			By("producing to the path-traversal name")
			produce := kmsg.NewPtrProduceRequest()
			produce.Acks, produce.TimeoutMillis = -1, 30_000
			pt := kmsg.NewProduceRequestTopic()
			pt.Topic = "../../othertenant/ns/victim"
			pp := kmsg.NewProduceRequestTopicPartition()
			pp.Records = gzipBatch(gzipZeros(10), 1)
			pt.Partitions = append(pt.Partitions, pp)
			produce.Topics = append(produce.Topics, pt)
			produced := send(produce).(*kmsg.ProduceResponse)
			Expect(produced.Topics[0].Partitions[0].ErrorCode).To(Equal(kerr.UnknownTopicOrPartition.Code))

			By("announcing a 2 GiB frame: the gateway closes the connection")
			conn := dialTarget(ctx)
			defer conn.Close()
			_, err = conn.Write(binary.BigEndian.AppendUint32(nil, 1<<31-1))
			Expect(err).NotTo(HaveOccurred())
			Expect(conn.SetReadDeadline(time.Now().Add(10 * time.Second))).To(Succeed())
			_, err = conn.Read(make([]byte, 1))
			var timeout net.Error
			Expect(errors.As(err, &timeout) && timeout.Timeout()).To(BeFalse(), "the connection was left open")
			Expect(err).To(HaveOccurred())

			By("producing and consuming as a well-behaved client")
			roundTrip(ctx, cl, c, "hostile", 5)
		}, entries)
})

// dialTarget opens a plain connection to the target's default listener.
func dialTarget(ctx context.Context) net.Conn {
	GinkgoHelper()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", target.Bootstrap)
	Expect(err).NotTo(HaveOccurred())
	return conn
}

// gzipZeros is n zero bytes, gzipped.
func gzipZeros(n int) []byte {
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression) // a valid level never fails
	_, err := io.CopyN(w, zeros{}, int64(n))
	Expect(err).NotTo(HaveOccurred())
	Expect(w.Close()).To(Succeed())
	return b.Bytes()
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// gzipBatch is a v2 record batch whose gzip-compressed records are compressed, claiming
// claimed records, with a valid CRC: it passes every check that does not decompress it.
func gzipBatch(compressed []byte, claimed int32) []byte {
	now := time.Now().UnixMilli()
	b := kmsg.RecordBatch{Magic: 2, Attributes: 1, LastOffsetDelta: claimed - 1, FirstTimestamp: now, MaxTimestamp: now,
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: claimed, Records: compressed}
	raw := b.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:], uint32(len(raw)-12))                                          // length after itself
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli))) // attributes to the end
	return raw
}

// codeName names a Kafka error code.
func codeName(code int16) string {
	if err := kerr.ErrorForCode(code); err != nil {
		return err.Error()
	}
	return "no error"
}
