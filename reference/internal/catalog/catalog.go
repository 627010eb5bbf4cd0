// Package catalog answers which Kafka topics exist and how many partitions they have, using
// Pulsar partitioned topics in one namespace as the source of truth (via the admin REST API).
// Kafka topic t is the partitioned topic naming.ToPulsar(t); a partitioned topic whose name is
// not the image of a legal Kafka name is not a Kafka topic.
//
// Catalog asks Pulsar on every call; Cache (cache.go) answers from memory what it last learned,
// kept current by listing the namespace in the background, so the gateway's capacity for
// Metadata is not that of Pulsar's admin HTTP pool. Memory is an in-memory Source for tests.
package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
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

// Catalog is the Pulsar Source: each call is one admin call, nothing is cached.
type Catalog struct {
	admin     admin.Client
	adminURL  string
	token     string
	http      *http.Client
	tenant    string
	namespace string
	ns        *utils.NameSpaceName
}

// New makes the admin client of the namespace's topics.
func New(adminURL, tenant, namespace, token string) (*Catalog, error) {
	a, err := admin.New(&config.Config{WebServiceURL: adminURL, Token: token})
	if err != nil {
		return nil, fmt.Errorf("pulsar admin client for %s: %w", adminURL, err)
	}
	ns, err := utils.GetNameSpaceName(tenant, namespace)
	if err != nil {
		return nil, fmt.Errorf("namespace %s/%s: %w", tenant, namespace, err)
	}
	return &Catalog{admin: a, adminURL: strings.TrimRight(adminURL, "/"), token: token,
		http: &http.Client{Timeout: 30 * time.Second}, tenant: tenant, namespace: namespace, ns: ns}, nil
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
	_, err := c.Names(ctx)
	return err
}

// Partitions returns the partition count of topic, or 0 when it does not exist.
func (c *Catalog) Partitions(ctx context.Context, topic string) (int32, error) {
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
	return int32(md.Partitions), nil
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
	return nil
}

// Delete removes a partitioned topic and its data. ErrUnknownTopic when there is none.
func (c *Catalog) Delete(ctx context.Context, topic string) error {
	tn, err := c.topicName(topic)
	if err != nil {
		return err
	}
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
	return nil
}

// Names lists every Kafka topic (partitioned Pulsar topic) of the namespace: one admin call,
// GET /admin/v2/persistent/{tenant}/{namespace}/partitioned. (pulsaradmin's Topics().List makes
// four calls, and after a failed one leaves the others' goroutines blocked for good.)
func (c *Catalog) Names(ctx context.Context) ([]string, error) {
	u := c.adminURL + "/admin/v2/persistent/" + url.PathEscape(c.tenant) + "/" + url.PathEscape(c.namespace) + "/partitioned"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", c.ns, err)
	}
	defer resp.Body.Close()
	// A namespace's list is one name per topic: 64 MiB is some 300,000 topics.
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", c.ns, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("listing %s: Pulsar answered %d: %s", c.ns, resp.StatusCode, strings.TrimSpace(string(body[:min(len(body), 512)])))
	}
	var partitioned []string
	if err := json.Unmarshal(body, &partitioned); err != nil {
		return nil, fmt.Errorf("listing %s: %w", c.ns, err)
	}
	out := make([]string, 0, len(partitioned))
	for _, full := range partitioned {
		tn, err := utils.GetTopicName(full)
		if err != nil {
			continue
		}
		name, ok := naming.FromPulsar(tn.GetLocalName())
		if !ok || strings.HasPrefix(name, InternalPrefix) {
			continue // not a Kafka topic, or one the gateway keeps for itself
		}
		out = append(out, name)
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
