package suite

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
	"github.com/kop-conformance/kop-conformance/conformance/evidence"
	"github.com/kop-conformance/kop-conformance/conformance/rules"
	"github.com/kop-conformance/kop-conformance/matrix/dims"
	"github.com/kop-conformance/kop-conformance/reference/wiretap"
)

// Every spec's clients send a client id unique to the spec ("<spec id>.<client name>"), and the
// target's wire tap records what each sent. After the spec the suite checks that every request
// was within the spec's protocol level and that the feature's main APIs were really used, and
// keeps the versions in the report (the matrix's wire-version table).

var (
	runNonce = fmt.Sprintf("%x", time.Now().UnixNano()%0xffffff)
	specSeq  int
)

var _ = BeforeEach(func() {
	specSeq++
	target.ClientID = fmt.Sprintf("kc%s-%d-%d", runNonce, GinkgoParallelProcess(), specSeq)
	emptyAsNull = false
	if cs := dims.ParseLabels(CurrentSpecReport().Labels()).Clients; len(cs) == 1 {
		k, _ := clients.KindNamed(cs[0])
		emptyAsNull = k.EmptyAsNull
	}
})

var _ = AfterEach(func(ctx SpecContext) {
	labels := dims.ParseLabels(CurrentSpecReport().Labels())
	if len(labels.Clients) == 0 || target.WireURL == "" {
		return
	}
	seen, err := wireSeen(ctx, target.ClientID)
	Expect(err).NotTo(HaveOccurred(), "reading the wire tap")
	AddReportEntry(evidence.WireEntry, evidence.Wire{Clients: seen}, ReportEntryVisibilityNever)
	if CurrentSpecReport().Failed() {
		return // the spec's own failure says more
	}
	Expect(checkWire(seen, labels)).To(Succeed())
}, NodeTimeout(30*time.Second))

// wireSeen returns, per client name, the versions of each API the spec's clients sent.
func wireSeen(ctx context.Context, specID string) (map[string]map[int16][]int16, error) {
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	byID, err := wiretap.Query(qctx, target.WireURL, specID+".")
	if err != nil {
		return nil, err
	}
	out := map[string]map[int16][]int16{}
	for id, cl := range byID {
		name := strings.TrimPrefix(id, specID+".")
		if out[name] == nil {
			out[name] = map[int16][]int16{}
		}
		for k, vs := range cl.Versions {
			out[name][k] = mergeVersions(out[name][k], vs)
		}
	}
	return out, nil
}

func mergeVersions(a, b []int16) []int16 {
	set := map[int16]bool{}
	for _, v := range append(append([]int16{}, a...), b...) {
		set[v] = true
	}
	out := make([]int16, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// checkWire proves the spec's level on the wire: every version each client sent is one its
// level's broker advertised (ApiVersions excepted: a client may probe with a newer one and
// fall back, KIP-511), and each client sent the feature's main APIs (the fault run's, for it).
func checkWire(seen map[string]map[int16][]int16, d dims.Spec) error {
	lv, ok := dims.LevelNamed(d.Level)
	if !ok {
		return fmt.Errorf("spec has no known level label (%q)", d.Level)
	}
	table := lv.Versions()
	apis, what := rules.FaultRunAPIs, "the fault run"
	if !d.Faults {
		f, ok := rules.Lookup(d.Feature)
		if !ok {
			return fmt.Errorf("spec has no known feature label (%q)", d.Feature)
		}
		apis, what = f.APIs, "feature "+f.Name
	}
	var problems []string
	for _, c := range d.Clients {
		sent, ok := seen[c]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s sent no request at all under this spec's client id", c))
			continue
		}
		for k, vs := range sent {
			if k == kmsg.ApiVersions.Int16() {
				continue
			}
			max, ok := table.LookupMaxKeyVersion(k)
			for _, v := range vs {
				if !ok || v > max {
					problems = append(problems, fmt.Sprintf("%s sent %s v%d, above level %s (max %s)", c, kmsg.NameForKey(k), v, d.Level, maxString(max, ok)))
				}
			}
		}
		for _, k := range apis {
			if len(sent[k.Int16()]) == 0 {
				problems = append(problems, fmt.Sprintf("%s never sent %s, a main API of %s", c, kmsg.NameForKey(k.Int16()), what))
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("wire check: %s", strings.Join(problems, "; "))
	}
	return nil
}

func maxString(max int16, ok bool) string {
	if !ok {
		return "not in the level"
	}
	return fmt.Sprintf("v%d", max)
}

// fetchEvent is one Fetch request of the spec's clients for one partition.
type fetchEvent struct {
	wiretap.Event
	Part wiretap.FetchPartition
}

// Duration is how long the server held the request (0 while it is pending).
func (f fetchEvent) Duration() time.Duration {
	if f.Pending() {
		return 0
	}
	return f.End().Sub(f.Start())
}

// MaxWait is the max wait the request asked for.
func (f fetchEvent) MaxWait() time.Duration {
	return time.Duration(f.Fetch.MaxWaitMs) * time.Millisecond
}

// fetchEvents returns the Fetch requests the spec's clients sent for topic/partition so far,
// oldest first, as the target's wire tap recorded them.
func fetchEvents(ctx context.Context, topic string, partition int32) []fetchEvent {
	GinkgoHelper()
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	byID, err := wiretap.Query(qctx, target.WireURL, target.ClientID+".")
	Expect(err).NotTo(HaveOccurred(), "reading the wire tap")
	var out []fetchEvent
	for _, cl := range byID {
		for _, ev := range cl.Events {
			if ev.Fetch == nil {
				continue
			}
			for _, p := range ev.Fetch.Partitions {
				if p.Topic == topic && p.Partition == partition {
					out = append(out, fetchEvent{Event: ev, Part: p})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StartUs < out[j].StartUs })
	return out
}

// parkedFetch waits (bounded) until one of the spec's clients has a Fetch for topic/partition
// at offset that the server has held for at least a while: the state a long-poll spec must
// observe before it produces the record that should end it.
func parkedFetch(ctx context.Context, topic string, partition int32, offset int64) fetchEvent {
	GinkgoHelper()
	const held = 300 * time.Millisecond
	var parked fetchEvent
	Eventually(ctx, func() bool {
		for _, f := range fetchEvents(ctx, topic, partition) {
			if f.Pending() && f.Part.Offset == offset && time.Since(f.Start()) >= held {
				parked = f
				return true
			}
		}
		return false
	}).WithTimeout(20*time.Second).WithPolling(50*time.Millisecond).Should(BeTrue(),
		"a Fetch of %s/%d at offset %d held by the server for %s", topic, partition, offset, held)
	return parked
}

// fetchedAt says whether the spec's clients sent a Fetch of partition 0 at offset.
func fetchedAt(ctx context.Context, topic string, offset int64) bool {
	GinkgoHelper()
	return len(fetchCodesAt(ctx, topic, offset)) > 0
}

// fetchCodesAt returns the error codes of the answered Fetches of partition 0 at offset.
func fetchCodesAt(ctx context.Context, topic string, offset int64) []int16 {
	GinkgoHelper()
	var out []int16
	for _, f := range fetchEvents(ctx, topic, 0) {
		if !f.Pending() && f.Part.Offset == offset {
			out = append(out, f.Part.ErrorCode)
		}
	}
	return out
}

// fetchedOrParkedAt says whether the spec's clients sent a Fetch of partition 0 at offset,
// answered or not.
func fetchedOrParkedAt(ctx context.Context, topic string, offset int64) bool {
	GinkgoHelper()
	for _, f := range fetchEvents(ctx, topic, 0) {
		if f.Part.Offset == offset {
			return true
		}
	}
	return false
}

// explainFetchesOnFailure prints the spec's Fetch requests of topic/partition when the spec
// fails, so a long-poll failure shows what the server was asked and how long it held each.
func explainFetchesOnFailure(topic string, partition int32) {
	GinkgoHelper()
	DeferCleanup(func(ctx SpecContext) {
		if !CurrentSpecReport().Failed() {
			return
		}
		for _, f := range fetchEvents(ctx, topic, partition) {
			fmt.Fprintf(GinkgoWriter, "fetch v%d at offset %d: max wait %s, min bytes %d, held %s, pending %v, answered code %d, %d bytes, high watermark %d\n",
				f.Version, f.Part.Offset, f.MaxWait(), f.Fetch.MinBytes, f.Duration(), f.Pending(), f.Part.ErrorCode, f.Part.Bytes, f.Part.HighWatermark)
		}
	})
}
