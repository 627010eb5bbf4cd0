// Package catalog answers which Kafka topics exist and how many partitions they have, using
// Pulsar partitioned topics in one namespace as the source of truth (via the admin REST API).
// Kafka topic t is the partitioned topic naming.ToPulsar(t); a partitioned topic whose name is
// not the image of a legal Kafka name is not a Kafka topic.
//
// Partition counts are cached for a maximum age (--metadata-max-age), as a Kafka client caches
// metadata for metadata.max.age.ms: a topic grown or deleted through another gateway or Pulsar's
// admin is seen once its entry expires. What this gateway changes itself is seen at once, and
// a topic that does not exist is never cached, so one created elsewhere is seen at once too.
package catalog

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin/config"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/rest"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/kop-conformance/kop-conformance/reference/internal/naming"
	"github.com/kop-conformance/kop-conformance/reference/internal/storage"
)

// Errors callers map to Kafka codes.
var (
	ErrTopicExists  = errors.New("topic already exists")
	ErrUnknownTopic = errors.New("unknown topic")
)

// InternalPrefix marks topics the gateway keeps for itself; they are not Kafka topics.
const InternalPrefix = naming.InternalPrefix

// Catalog caches partition counts for at most maxAge; Pulsar stays the source of truth.
type Catalog struct {
	admin     admin.Client
	tenant    string
	namespace string
	ns        *utils.NameSpaceName
	maxAge    time.Duration
	now       func() time.Time // time.Now; tests move it

	mu    sync.Mutex
	parts map[string]cached
	// sweepAt is the size at which expired entries are dropped, so topics deleted elsewhere
	// do not stay in the map forever.
	sweepAt int
	// deletes counts Delete calls so a lookup that raced a deletion does not cache a count
	// read while the topic still existed.
	deletes uint64
}

type cached struct {
	n       int32
	expires time.Time
}

// minSweep is the size below which the cache is never swept.
const minSweep = 1024

// New connects the admin client; partition counts are cached for maxAge (0: never cached).
func New(adminURL, tenant, namespace, token string, maxAge time.Duration) (*Catalog, error) {
	a, err := admin.New(&config.Config{WebServiceURL: adminURL, Token: token})
	if err != nil {
		return nil, fmt.Errorf("pulsar admin client for %s: %w", adminURL, err)
	}
	ns, err := utils.GetNameSpaceName(tenant, namespace)
	if err != nil {
		return nil, fmt.Errorf("namespace %s/%s: %w", tenant, namespace, err)
	}
	return &Catalog{admin: a, tenant: tenant, namespace: namespace, ns: ns, maxAge: maxAge, now: time.Now,
		parts: map[string]cached{}, sweepAt: minSweep}, nil
}

// topicName is the Pulsar partitioned topic of a Kafka topic. A name Kafka forbids never
// reaches Pulsar.
func (c *Catalog) topicName(topic string) (*utils.TopicName, error) {
	if err := naming.Check(topic); err != nil {
		return nil, err
	}
	return utils.GetTopicName(fmt.Sprintf("persistent://%s/%s/%s", c.tenant, c.namespace, naming.ToPulsar(topic)))
}

// Ping checks that the admin API answers and the namespace exists.
func (c *Catalog) Ping(ctx context.Context) error {
	_, _, err := c.admin.Topics().ListWithContext(ctx, *c.ns)
	return err
}

// Partitions returns the partition count of topic, or 0 when it does not exist.
func (c *Catalog) Partitions(ctx context.Context, topic string) (int32, error) {
	c.mu.Lock()
	e, ok := c.parts[topic]
	epoch := c.deletes
	c.mu.Unlock()
	if ok && c.now().Before(e.expires) {
		return e.n, nil
	}
	tn, err := c.topicName(topic)
	if err != nil {
		return 0, err
	}
	md, err := c.admin.Topics().GetMetadataWithContext(ctx, *tn)
	if err != nil {
		if isNotFound(err) {
			return 0, nil
		}
		return 0, fmt.Errorf("partitions of %s: %w", topic, err)
	}
	if md.Partitions <= 0 {
		return 0, nil // absent, or a non-partitioned Pulsar topic (not a Kafka topic)
	}
	c.mu.Lock()
	if c.deletes == epoch {
		c.rememberLocked(topic, int32(md.Partitions))
	}
	c.mu.Unlock()
	return int32(md.Partitions), nil
}

func (c *Catalog) remember(topic string, n int32) {
	c.mu.Lock()
	c.rememberLocked(topic, n)
	c.mu.Unlock()
}

func (c *Catalog) rememberLocked(topic string, n int32) {
	now := c.now()
	if len(c.parts) >= c.sweepAt {
		for t, e := range c.parts {
			if !now.Before(e.expires) {
				delete(c.parts, t)
			}
		}
		c.sweepAt = max(minSweep, 2*len(c.parts))
	}
	c.parts[topic] = cached{n: n, expires: now.Add(c.maxAge)}
}

func (c *Catalog) forget(topic string) {
	c.mu.Lock()
	delete(c.parts, topic)
	c.deletes++
	c.mu.Unlock()
}

// Create makes a partitioned topic.
func (c *Catalog) Create(ctx context.Context, topic string, partitions int32) error {
	tn, err := c.topicName(topic)
	if err != nil {
		return err
	}
	if err := c.admin.Topics().CreateWithContext(ctx, *tn, int(partitions)); err != nil {
		if isConflict(err) {
			return ErrTopicExists
		}
		return fmt.Errorf("creating %s: %w", topic, err)
	}
	c.remember(topic, partitions)
	return nil
}

// Delete removes a partitioned topic and its data. ErrUnknownTopic when there is none.
func (c *Catalog) Delete(ctx context.Context, topic string) error {
	tn, err := c.topicName(topic)
	if err != nil {
		return err
	}
	c.forget(topic)
	// Lookups running until the deletion is done may read the topic as still there.
	defer c.forget(topic)
	// force: the gateway's own readers may still be attached while they close.
	if err := c.admin.Topics().DeleteWithContext(ctx, *tn, true, false); err != nil {
		if isNotFound(err) {
			return ErrUnknownTopic
		}
		return fmt.Errorf("deleting %s: %w", topic, err)
	}
	return nil
}

// Grow raises a topic's partition count (Pulsar, like Kafka, never shrinks one).
func (c *Catalog) Grow(ctx context.Context, topic string, partitions int32) error {
	tn, err := c.topicName(topic)
	if err != nil {
		return err
	}
	if err := c.admin.Topics().UpdateWithContext(ctx, *tn, int(partitions)); err != nil {
		if isNotFound(err) {
			return ErrUnknownTopic
		}
		return fmt.Errorf("growing %s to %d partitions: %w", topic, partitions, err)
	}
	c.remember(topic, partitions)
	return nil
}

// List returns every Kafka topic (partitioned Pulsar topic) of the namespace.
func (c *Catalog) List(ctx context.Context) (map[string]int32, error) {
	partitioned, _, err := c.admin.Topics().ListWithContext(ctx, *c.ns)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", c.ns, err)
	}
	out := make(map[string]int32, len(partitioned))
	for _, full := range partitioned {
		tn, err := utils.GetTopicName(full)
		if err != nil {
			continue
		}
		name, ok := naming.FromPulsar(tn.GetLocalName())
		if !ok || strings.HasPrefix(name, InternalPrefix) {
			continue // not a Kafka topic, or one the gateway keeps for itself
		}
		n, err := c.Partitions(ctx, name)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			out[name] = n
		}
	}
	return out, nil
}

func statusOf(err error) int {
	var re rest.Error
	if errors.As(err, &re) {
		return re.Code
	}
	var rp *rest.Error
	if errors.As(err, &rp) {
		return rp.Code
	}
	return 0
}

func isNotFound(err error) bool { return statusOf(err) == http.StatusNotFound }
func isConflict(err error) bool { return statusOf(err) == http.StatusConflict }

// Ledgers lists the ledgers of a Pulsar topic (full name) with their entry counts, oldest
// first. The open ledger's count comes from the last confirmed entry, since Pulsar lists it
// with 0 entries until it closes.
func (c *Catalog) Ledgers(ctx context.Context, topic string) ([]storage.Ledger, error) {
	tn, err := utils.GetTopicName(topic)
	if err != nil {
		return nil, err
	}
	st, err := c.admin.Topics().GetInternalStatsWithContext(ctx, *tn)
	if err != nil {
		return nil, err
	}
	lastLedger, lastEntry := int64(-1), int64(-1)
	// "ledger:entry"; anything else (no entry yet is "-1:-1") leaves the listed counts alone.
	if l, e, ok := strings.Cut(st.LastConfirmedEntry, ":"); ok {
		ln, lerr := strconv.ParseInt(l, 10, 64)
		en, eerr := strconv.ParseInt(e, 10, 64)
		if lerr == nil && eerr == nil {
			lastLedger, lastEntry = ln, en
		}
	}
	out := make([]storage.Ledger, 0, len(st.Ledgers))
	for _, l := range st.Ledgers {
		n := l.Entries
		if l.LedgerID == lastLedger && lastEntry+1 > n {
			n = lastEntry + 1
		}
		out = append(out, storage.Ledger{ID: l.LedgerID, Entries: n})
	}
	return out, nil
}
