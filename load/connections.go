package load

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Progress receives one line per step.
type Progress func(format string, args ...any)

// clientsTopic is where the connecting clients write and read, over clientsPartitions.
const (
	clientsTopic      = "load-clients"
	clientsPartitions = 8
)

// Clients connects s.Clients clients at once (after a barrier, so they really are at once),
// each doing what a client does first: ApiVersions, Metadata for all topics, a one-record
// produce (acks all) and a fetch of that record. Each has s.ClientTimeout from its first
// byte. Once all are done the answered ones stay connected, idle, while the gateway's memory
// and file descriptors are read; then all close.
func Clients(ctx context.Context, t Target, s Sizes, say Progress) (*ClientsResult, error) {
	sctx, cancel := context.WithTimeout(ctx, s.Setup)
	err := ensureTopic(sctx, t.Bootstrap, clientsTopic, clientsPartitions)
	if err == nil {
		err = warmTopic(sctx, t.Bootstrap, clientsTopic, clientsPartitions)
	}
	cancel()
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", clientsTopic, err)
	}
	res := &ClientsResult{Clients: s.Clients}
	res.Before = Scrape(ctx, t.MetricsURL)
	say("%s: %d clients connecting at once", t.Name, s.Clients)

	var (
		first, all Latencies
		errs       Counter
		mu         sync.Mutex
		open       []clientConn
		last       time.Time
		wg         sync.WaitGroup
	)
	value := make([]byte, 100)
	start := make(chan struct{})
	for i := range s.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			c, firstAt, err := oneClient(ctx, t.Bootstrap, i, value, s.ClientTimeout)
			done := time.Now()
			mu.Lock()
			defer mu.Unlock()
			if done.After(last) {
				last = done
			}
			if err != nil {
				errs.Add(err.Error())
				return
			}
			first.Add(firstAt)
			all.Add(done.Sub(c.started))
			open = append(open, c)
		}()
	}
	began := time.Now()
	close(start)
	wg.Wait()
	res.WallSeconds = last.Sub(began).Seconds()
	res.Answered, res.Errors, res.Kinds = len(open), errs.Total(), errs.Counts()
	res.FirstResponse, res.AllSteps = first.Summary(), all.Summary()
	say("%s: %d answered, %d errors, first response p50 %.1f ms p99 %.1f ms, in %.1f s",
		t.Name, res.Answered, res.Errors, res.FirstResponse.P50, res.FirstResponse.P99, res.WallSeconds)

	// Idle: every answered client still connected, nothing in flight.
	settle(ctx, s.Settle)
	res.Idle = Scrape(ctx, t.MetricsURL)
	if res.Before != nil && res.Idle != nil {
		conns := res.Idle.Connections - res.Before.Connections
		if conns <= 0 {
			conns = float64(len(open))
		}
		if conns > 0 {
			res.IdlePerConnection = (res.Idle.RSS - res.Before.RSS) / conns
		}
	}
	for _, c := range open {
		c.Close()
	}
	return res, nil
}

// clientConn is a connected client and when it began to connect.
type clientConn struct {
	*Conn
	started time.Time
}

// oneClient connects and does the four requests; it returns the connection open, and the
// time from starting to connect to the first answer. An error names its step.
func oneClient(ctx context.Context, addr string, i int, value []byte, timeout time.Duration) (clientConn, time.Duration, error) {
	started := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	fail := func(c *Conn, stage string, err error) (clientConn, time.Duration, error) {
		if c != nil {
			c.Close()
		}
		return clientConn{}, 0, fmt.Errorf("%s", kind(stage, err))
	}
	c, err := Dial(ctx, addr, fmt.Sprintf("kop-load-client-%d", i))
	if err != nil {
		return fail(nil, "connect", err)
	}
	if err := c.ApiVersions(ctx); err != nil {
		return fail(c, "ApiVersions", err)
	}
	firstAt := time.Since(started)
	md, err := c.metadataAll(ctx)
	if err != nil {
		return fail(c, "Metadata", err)
	}
	if md.ErrorCode != 0 {
		return fail(c, "Metadata", codeError("Metadata", md.ErrorCode))
	}
	p := int32(i % clientsPartitions)
	offset, err := c.produceOne(ctx, clientsTopic, p, value, timeout)
	if err != nil {
		return fail(c, "Produce", err)
	}
	if err := c.fetchFrom(ctx, clientsTopic, p, offset); err != nil {
		return fail(c, "Fetch", err)
	}
	return clientConn{c, started}, firstAt, nil
}

// warmTopic writes every partition of topic once, so the clients' produces find them settled
// (Kafka answers NOT_LEADER_FOR_PARTITION for a moment after naming a new partition's leader,
// and the gateway opens a partition on its first use).
func warmTopic(ctx context.Context, addr, topic string, partitions int32) error {
	c, err := dialReady(ctx, addr, "kop-load-warm-up")
	if err != nil {
		return err
	}
	defer c.Close()
	value := make([]byte, 100)
	for p := range partitions {
		if err := warmUp(ctx, c, topic, p, value); err != nil {
			return fmt.Errorf("writing partition %d first: %w", p, err)
		}
	}
	return nil
}
