package clients

import (
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/kop-conformance/kop-conformance/matrix/dims"
)

type franz struct {
	tls      *tls.Config
	sasl     *Credentials
	failFast bool
	seeds    []string
	versions *kversion.Versions
	clientID string
	admin    *kgo.Client
}

func newFranz(t Target, level string) (Client, error) {
	lv, ok := dims.LevelNamed(level)
	if !ok {
		return nil, fmt.Errorf("franz-go: unknown level %q", level)
	}
	// The client pins itself to the level and talks to a listener capped to it, so a version
	// above the level is refused on the wire rather than silently served.
	addr, err := levelAddr(t, level)
	if err != nil {
		return nil, err
	}
	f := &franz{seeds: []string{addr}, versions: lv.Versions(), tls: t.TLS, sasl: t.SASL, failFast: t.FailFast, clientID: t.ClientIDFor(dims.FranzGo)}
	cl, err := kgo.NewClient(f.opts()...)
	if err != nil {
		return nil, err
	}
	f.admin = cl
	return f, nil
}

func (f *franz) opts(extra ...kgo.Opt) []kgo.Opt {
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(f.seeds...),
		kgo.MaxVersions(f.versions),
		kgo.ClientID(f.clientID),
		// Every client dials through dial (TLS when the target says so); a later Dialer in
		// extra (a group member's cutter) replaces it.
		kgo.Dialer(func(ctx context.Context, network, host string) (net.Conn, error) {
			return dial(ctx, f.tls, network, host)
		}),
	}, extra...)
	if f.failFast {
		opts = append(opts, kgo.RequestRetries(0))
	}
	if f.sasl != nil {
		opts = append(opts, kgo.SASL(franzMechanism(*f.sasl)))
	}
	return opts
}

func (f *franz) Close() { f.admin.Close() }

func (f *franz) CreateTopic(ctx context.Context, topic string, partitions int32) error {
	resp, err := kadm.NewClient(f.admin).CreateTopic(ctx, partitions, 1, nil, topic)
	if err != nil {
		return err
	}
	return resp.Err
}

func franzCodec(name string) (kgo.CompressionCodec, error) {
	switch name {
	case "", "none":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("franz-go: unknown codec %q", name)
}

func (f *franz) Produce(ctx context.Context, pc ProduceConfig, recs []Record) ([]Record, error) {
	acks := pc.Acks
	codec, err := franzCodec(pc.Compression)
	if err != nil {
		return nil, err
	}
	ka := kgo.AllISRAcks()
	switch acks {
	case AcksNone:
		ka = kgo.NoAck()
	case AcksLeader:
		ka = kgo.LeaderAck()
	}
	opts := []kgo.Opt{kgo.RequiredAcks(ka)}
	if !pc.Idempotent {
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	cl, err := kgo.NewClient(f.opts(append(opts,
		kgo.ProducerBatchCompression(codec),
		kgo.ProducerBatchMaxBytes(ClientMaxMessageBytes),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
	)...)...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	in := make([]*kgo.Record, len(recs))
	for i, r := range recs {
		in[i] = toKgo(r)
	}
	res := cl.ProduceSync(ctx, in...)
	if err := res.FirstErr(); err != nil {
		return nil, err
	}
	// Results arrive in completion order, not input order: match them by record.
	pos := make(map[*kgo.Record]int, len(in))
	for i, r := range in {
		pos[r] = i
	}
	out := make([]Record, len(recs))
	for _, r := range res {
		i := pos[r.Record]
		out[i] = recs[i]
		out[i].Partition = r.Record.Partition
		out[i].Offset = r.Record.Offset
		if acks == AcksNone {
			out[i].Offset = -1
		}
	}
	return out, nil
}

func (f *franz) Consume(ctx context.Context, cc ConsumeConfig, topic string, partition int32, offset int64, n int) ([]Record, error) {
	got, err := f.consume(ctx, cc, topic, partition, offset, n)
	out := make([]Record, len(got))
	for i, g := range got {
		out[i] = fromKgo(g.Record)
		out[i].HighWatermark = g.highWatermark
	}
	return out, err
}

// franzFetched is a consumed record and the high watermark of the fetch that carried it.
type franzFetched struct {
	*kgo.Record
	highWatermark int64
}

// consume reads n records of one partition from offset, in offset order, with a client of its
// own set up by cc. With an error it returns the records read before it.
func (f *franz) consume(ctx context.Context, cc ConsumeConfig, topic string, partition int32, offset int64, n int) ([]franzFetched, error) {
	wait := 500 * time.Millisecond
	if cc.MaxWait > 0 {
		wait = cc.MaxWait
	}
	level := kgo.ReadUncommitted()
	if cc.Isolation == ReadCommitted {
		level = kgo.ReadCommitted()
	}
	opts := []kgo.Opt{
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {partition: kgo.NewOffset().At(offset)}}),
		kgo.FetchMaxWait(wait),
		kgo.FetchIsolationLevel(level),
	}
	if cc.MinBytes > 0 {
		opts = append(opts, kgo.FetchMinBytes(cc.MinBytes))
	}
	if cc.MaxBytes > 0 {
		opts = append(opts, kgo.FetchMaxBytes(cc.MaxBytes))
	}
	if cc.PartitionMaxBytes > 0 {
		opts = append(opts, kgo.FetchMaxPartitionBytes(cc.PartitionMaxBytes))
	}
	cl, err := kgo.NewClient(f.opts(opts...)...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var out []franzFetched
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("consumed %d of %d records: %w", len(out), n, err)
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) { ferr = err })
		if ferr != nil {
			return out, ferr
		}
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			p.EachRecord(func(r *kgo.Record) { out = append(out, franzFetched{r, p.HighWatermark}) })
		})
	}
	slices.SortFunc(out, func(a, b franzFetched) int { return cmp.Compare(a.Offset, b.Offset) })
	return out[:n], nil
}

func (f *franz) ListOffset(ctx context.Context, topic string, partition int32, query int64) (int64, error) {
	adm := kadm.NewClient(f.admin)
	var (
		lo  kadm.ListedOffsets
		err error
	)
	switch query {
	case Earliest:
		lo, err = adm.ListStartOffsets(ctx, topic)
	case Latest:
		lo, err = adm.ListEndOffsets(ctx, topic)
	default:
		lo, err = adm.ListOffsetsAfterMilli(ctx, query, topic)
	}
	if err != nil {
		return 0, err
	}
	o, ok := lo.Lookup(topic, partition)
	if !ok {
		return 0, fmt.Errorf("no offset returned for %s/%d", topic, partition)
	}
	if query >= 0 && o.Err == nil && o.Timestamp < 0 {
		// No record that late: the broker answered -1, which kadm replaces with the end offset
		// (its documented fallback, recognisable by the missing timestamp).
		return -1, nil
	}
	return o.Offset, o.Err
}
