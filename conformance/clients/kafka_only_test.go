package clients

// In-process tests of the adapters for the features the reference server does not serve
// (transactions, SCRAM, OAUTHBEARER, LogAppendTime), against franz-go's kfake. They prove the
// adapters' own code: what Apache Kafka answers is the conformance suite's business.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	kafka "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// koCluster starts a one-broker kfake cluster and returns its address.
func koCluster(t *testing.T, opts ...kfake.Opt) string {
	t.Helper()
	return koFake(t, opts...).ListenAddrs()[0]
}

func koFake(t *testing.T, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// koTarget is a target whose every level listener is addr.
func koTarget(addr string) Target {
	return Target{Name: "kfake", Bootstrap: addr, Levels: map[string]string{"1.0": addr, "2.6": addr}, ClientID: "kfake-test"}
}

func koRecords(topic string, n int, base time.Time) []Record {
	out := make([]Record, n)
	for i := range out {
		out[i] = Record{Topic: topic, Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(fmt.Sprintf("v%d", i)),
			Headers: []Header{{Key: "h", Value: []byte{byte(i)}}}, Timestamp: base.Add(time.Duration(i) * time.Millisecond)}
	}
	out[1].Value = nil // a null value survives
	return out
}

func koCheck(t *testing.T, what string, got []Record, want []Record, offsets []int64) {
	t.Helper()
	if len(got) != len(offsets) {
		t.Fatalf("%s: %d records, want %d", what, len(got), len(offsets))
	}
	for i, g := range got {
		w := want[i]
		if g.Offset != offsets[i] || string(g.Key) != string(w.Key) || (g.Value == nil) != (w.Value == nil) ||
			string(g.Value) != string(w.Value) || len(g.Headers) != 1 || string(g.Headers[0].Value) != string(w.Headers[0].Value) {
			t.Errorf("%s: record %d = offset %d key %q value %q headers %v, want offset %d key %q value %q headers %v",
				what, i, g.Offset, g.Key, g.Value, g.Headers, offsets[i], w.Key, w.Value, w.Headers)
		}
	}
}

func TestTransactions(t *testing.T) {
	addr := koCluster(t)
	for _, kind := range []string{"franz-go", "sarama"} {
		for _, level := range []string{"1.0", "2.6"} {
			t.Run(kind+"@"+level, func(t *testing.T) {
				t.Parallel()
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				cl := koOpen(t, kind, koTarget(addr), level)
				tx, ok := cl.(Transactional)
				if !ok {
					t.Fatalf("%s does not implement Transactional", kind)
				}
				topic := "txn-" + kind + "-" + level
				if err := cl.CreateTopic(ctx, topic, 1); err != nil {
					t.Fatal(err)
				}
				recs := koRecords(topic, 9, time.UnixMilli(time.Now().Add(-time.Hour).UnixMilli()))
				produced, err := tx.ProduceTransactions(ctx, "txn-id-"+topic, topic, 0, []TxnBatch{
					{Records: recs[0:3], Commit: true}, {Records: recs[3:6]}, {Records: recs[6:9], Commit: true}})
				if err != nil {
					t.Fatal(err)
				}
				// Every commit or abort writes one control record after its transaction's data.
				koCheck(t, "produced", produced, recs, []int64{0, 1, 2, 4, 5, 6, 8, 9, 10})
				if end, err := cl.ListOffset(ctx, topic, 0, Latest); err != nil || end != 12 {
					t.Fatalf("log end = %d, %v; want 12 (9 records, 3 markers)", end, err)
				}
				committed := append(append([]Record{}, recs[0:3]...), recs[6:9]...)
				got, err := cl.Consume(ctx, ConsumeConfig{Isolation: ReadCommitted}, topic, 0, 0, 6)
				if err != nil {
					t.Fatal(err)
				}
				koCheck(t, "read_committed from 0", got, committed, []int64{0, 1, 2, 8, 9, 10})
				got, err = cl.Consume(ctx, ConsumeConfig{Isolation: ReadCommitted}, topic, 0, 4, 3)
				if err != nil {
					t.Fatal(err)
				}
				koCheck(t, "read_committed from 4", got, recs[6:9], []int64{8, 9, 10})
				got, err = cl.Consume(ctx, ConsumeConfig{Isolation: ReadUncommitted}, topic, 0, 0, 9)
				if err != nil {
					t.Fatal(err)
				}
				koCheck(t, "read_uncommitted", got, recs, []int64{0, 1, 2, 4, 5, 6, 8, 9, 10})
			})
		}
	}
}

func koOpen(t *testing.T, name string, tg Target, level string) Client {
	t.Helper()
	for _, k := range Kinds {
		if k.Name == name {
			cl, err := k.New(tg, level)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(cl.Close)
			return cl
		}
	}
	t.Fatalf("no client %s", name)
	return nil
}

func TestUnsecuredJWT(t *testing.T) {
	now := time.Unix(1700000000, 0)
	tok := UnsecuredJWT("alice", now)
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || parts[2] != "" || strings.Contains(tok, "=") {
		t.Fatalf("token %q: want header.claims. in unpadded base64url", tok)
	}
	var header map[string]any
	var claims map[string]any
	for i, into := range []any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, into); err != nil {
			t.Fatal(err)
		}
	}
	if len(header) != 1 || header["alg"] != "none" {
		t.Errorf("header %v, want exactly alg none", header)
	}
	if claims["sub"] != "alice" || claims["iat"] != float64(now.Unix()) || claims["exp"] != float64(now.Add(UnsecuredJWTLifetime).Unix()) {
		t.Errorf("claims %v", claims)
	}
}

func TestMechanismsRefuseWhatTheyLack(t *testing.T) {
	if _, err := kafkaGoMechanism(Credentials{User: "alice", Mechanism: MechanismOAuthBearer}); err == nil {
		t.Error("kafka-go: OAUTHBEARER must be refused, it has no such mechanism")
	}
	for _, m := range []string{"GSSAPI", "scram-sha-256"} {
		if err := saramaSASL(sarama.NewConfig(), Credentials{Mechanism: m}); err == nil {
			t.Errorf("sarama: %s accepted", m)
		}
		if _, err := kafkaGoMechanism(Credentials{Mechanism: m}); err == nil {
			t.Errorf("kafka-go: %s accepted", m)
		}
		if name := franzMechanism(Credentials{Mechanism: m}).Name(); name != m {
			t.Errorf("franz-go: %s became %s", m, name)
		}
	}
	cfg := sarama.NewConfig()
	if err := saramaSASL(cfg, Credentials{User: "alice", Mechanism: MechanismOAuthBearer}); err != nil {
		t.Fatal(err)
	}
	tok, err := cfg.Net.SASL.TokenProvider.Token()
	if err != nil || !strings.HasSuffix(tok.Token, ".") || cfg.Net.SASL.Mechanism != sarama.SASLTypeOAuth {
		t.Errorf("sarama OAUTHBEARER: mechanism %s token %v %v", cfg.Net.SASL.Mechanism, tok, err)
	}
}

// TestSCRAM authenticates each client's SCRAM mechanisms against kfake, whose users have a
// different password per mechanism: only the right mechanism with the right password passes,
// so a mechanism that silently fell back to another would fail.
func TestSCRAM(t *testing.T) {
	addr := koCluster(t, kfake.EnableSASL(),
		kfake.Superuser("PLAIN", "admin", "admin-secret"),
		kfake.Superuser(MechanismSCRAMSHA256, "alice", "pw-256"),
		kfake.Superuser(MechanismSCRAMSHA512, "alice", "pw-512"))
	good := []Credentials{
		{User: "admin", Password: "admin-secret"}, // PLAIN, the default
		{User: "alice", Password: "pw-256", Mechanism: MechanismSCRAMSHA256},
		{User: "alice", Password: "pw-512", Mechanism: MechanismSCRAMSHA512},
	}
	bad := []Credentials{
		{User: "alice", Password: "wrong", Mechanism: MechanismSCRAMSHA256},
		{User: "alice", Password: "pw-512", Mechanism: MechanismSCRAMSHA256}, // the other mechanism's password
		{User: "alice", Password: "pw-256", Mechanism: MechanismSCRAMSHA512},
		{User: "alice", Password: "pw-256", Mechanism: MechanismPlain}, // no PLAIN user alice
	}
	clients := map[string]func(ctx context.Context, c Credentials) error{
		"franz-go": func(ctx context.Context, c Credentials) error {
			cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.SASL(franzMechanism(c)), kgo.RequestRetries(0))
			if err != nil {
				return err
			}
			defer cl.Close()
			_, err = kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
			return err
		},
		"sarama": func(_ context.Context, c Credentials) error {
			cfg := sarama.NewConfig()
			cfg.Version, cfg.Metadata.Retry.Max = sarama.V2_6_0_0, 0
			if err := saramaSASL(cfg, c); err != nil {
				return err
			}
			cl, err := sarama.NewClient([]string{addr}, cfg)
			if err != nil {
				return err
			}
			return cl.Close()
		},
		"kafka-go": func(ctx context.Context, c Credentials) error {
			mech, err := kafkaGoMechanism(c)
			if err != nil {
				return err
			}
			tr := &kafka.Transport{SASL: mech}
			defer tr.CloseIdleConnections()
			_, err = (&kafka.Client{Addr: kafka.TCP(addr), Transport: tr}).Metadata(ctx, &kafka.MetadataRequest{})
			return err
		},
	}
	for name, connect := range clients {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			for _, c := range good {
				if err := connect(ctx, c); err != nil {
					t.Errorf("%s %s: %v", c.Mechanism, c.Password, err)
				}
			}
			// kfake closes the connection on a failed authentication where Kafka answers
			// SASL_AUTHENTICATION_FAILED (the suite asserts that code on Kafka).
			for _, c := range bad {
				if err := connect(ctx, c); err == nil {
					t.Errorf("%s %s: authenticated", c.Mechanism, c.Password)
				}
			}
		})
	}
}

// TestAppendTimes checks the adapters' topic configs, produce path and timestamp reporting.
// kfake does not stamp records by the topic's message.timestamp.type (it stamps a batch the
// producer marks LogAppendTime, and then overwrites FirstTimestamp without a new CRC, unlike
// Kafka), so a LogAppendTime topic there answers as CreateTime: the adapters' produce path is
// checked for content, offsets and that answer. How each consumer reads a batch Kafka stamped
// is checked on a second topic whose fetches kfake answers with such a batch, built as
// Kafka's LogValidator leaves it: attribute bit 3 set, MaxTimestamp the broker's time, first
// timestamp and deltas the producer's, CRC recomputed.
func TestAppendTimes(t *testing.T) {
	c := koFake(t)
	addr := c.ListenAddrs()[0]
	old := time.UnixMilli(time.Now().Add(-time.Hour).UnixMilli())
	stampedAt := time.UnixMilli(time.Now().UnixMilli())
	stamped := koRecords("lat-stamped", 3, old)
	if err := (&kgoCreator{addr}).create("lat-stamped"); err != nil {
		t.Fatal(err)
	}
	serveStamped(c, "lat-stamped", stampedBatch(t, stamped, stampedAt))
	for _, kind := range []string{"franz-go", "sarama", "kafka-go"} {
		t.Run(kind, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			cl := koOpen(t, kind, koTarget(addr), "2.6")
			at, ok := cl.(AppendTimes)
			if !ok {
				t.Fatalf("%s does not implement AppendTimes", kind)
			}
			topic := "lat-" + kind
			if err := at.CreateTopicWithConfigs(ctx, topic, 1, map[string]string{"message.timestamp.type": "LogAppendTime"}); err != nil {
				t.Fatal(err)
			}
			if cfg, err := cl.TopicConfigs(ctx, topic, []string{"message.timestamp.type"}); err != nil || cfg["message.timestamp.type"] != "LogAppendTime" {
				t.Fatalf("topic configs %v, %v", cfg, err)
			}
			recs := koRecords(topic, 3, old)
			produced, err := at.ProduceAppendTime(ctx, recs)
			if err != nil {
				t.Fatal(err)
			}
			koCheck(t, "produced", produced, recs, []int64{0, 1, 2})
			for i, p := range produced { // kfake answered -1: zero, or the producer's own
				if !p.Timestamp.IsZero() && !p.Timestamp.Equal(recs[i].Timestamp) {
					t.Errorf("produced %d: timestamp %v without a LogAppendTime", i, p.Timestamp)
				}
			}
			got, types, err := at.ConsumeTimestampTypes(ctx, topic, 0, 0, 3)
			if err != nil {
				t.Fatal(err)
			}
			koCheck(t, "consumed", got, recs, []int64{0, 1, 2})
			wantType := map[bool]int8{true: TimestampCreateTime, false: TimestampUnknown}[kind == "franz-go"]
			for i, g := range got {
				if !g.Timestamp.Equal(recs[i].Timestamp) || types[i] != wantType {
					t.Errorf("CreateTime record %d: timestamp %v type %d, want %v type %d", i, g.Timestamp, types[i], recs[i].Timestamp, wantType)
				}
			}

			got, types, err = at.ConsumeTimestampTypes(ctx, "lat-stamped", 0, 0, 3)
			if err != nil {
				t.Fatal(err)
			}
			koCheck(t, "stamped", got, stamped, []int64{0, 1, 2})
			wantType = map[bool]int8{true: TimestampLogAppendTime, false: TimestampUnknown}[kind == "franz-go"]
			for i, g := range got {
				want := stampedAt
				if kind == "kafka-go" {
					// The proposed Lacking rule rests on this: kafka-go shows the producer's time.
					want = stamped[i].Timestamp
				}
				if !g.Timestamp.Equal(want) || types[i] != wantType {
					t.Errorf("LogAppendTime record %d: timestamp %v type %d, want %v type %d", i, g.Timestamp, types[i], want, wantType)
				}
			}
		})
	}
}

// kgoCreator creates plain topics with a bare franz-go client.
type kgoCreator struct{ addr string }

func (k *kgoCreator) create(topic string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.addr))
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, 1, 1
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	return kerr.ErrorForCode(resp.Topics[0].ErrorCode)
}

// stampedBatch is recs as one batch the way Kafka stores it on a LogAppendTime topic.
func stampedBatch(t *testing.T, recs []Record, at time.Time) []byte {
	t.Helper()
	var b kmsg.RecordBatch
	if err := b.ReadFrom(recordBatch(recs)); err != nil {
		t.Fatal(err)
	}
	b.Attributes |= 0x08
	b.MaxTimestamp = at.UnixMilli()
	raw := b.AppendTo(nil)
	b.CRC = int32(crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b.AppendTo(nil)
}

// serveStamped answers every fetch of topic's partition 0 with batch (offsets 0..2, the high
// watermark 3) from offset 0 to 2, and with no records from 3 on.
func serveStamped(c *kfake.Cluster, topic string, batch []byte) {
	c.ControlKey(int16(kmsg.Fetch), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req := kr.(*kmsg.FetchRequest)
		if len(req.Topics) != 1 || req.Topics[0].Topic != topic {
			return nil, nil, false
		}
		resp := req.ResponseKind().(*kmsg.FetchResponse)
		rt := kmsg.NewFetchResponseTopic()
		rt.Topic, rt.TopicID = topic, req.Topics[0].TopicID
		for _, p := range req.Topics[0].Partitions {
			rp := kmsg.NewFetchResponseTopicPartition()
			rp.Partition, rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset = p.Partition, 3, 3, 0
			if p.Partition == 0 && p.FetchOffset < 3 {
				rp.RecordBatches = batch
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
		return resp, nil, true
	})
}
