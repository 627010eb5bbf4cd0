// Package suite is the conformance suite. It runs every spec for each client at each protocol
// level against one target: the reference server on real Pulsar (default, started here in
// containers), Apache Kafka (the oracle: every expectation must hold there first, started here
// in a container), or an external Kafka-protocol endpoint.
//
//	KOP_TARGET=reference|kafka|external   KOP_BOOTSTRAP=host:port (external)
//	KOP_PULSAR_IMAGE, KOP_REFERENCE_IMAGE, KOP_KAFKA_IMAGE (`make conformance` sets them)
//	KOP_FAULT=<fault,...> starts the reference server with deliberate faults (`make mutants`)
//	KOP_FAULT_ROUNDS=<n> rounds of the nightly fault run (faults_test.go; default 3)
//
// Labels carry the matrix dimensions (matrix/dims): client:<name>, level:<x.y>, feature:<name>;
// the fault run, no matrix cell, is labelled faults.
package suite

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
	"github.com/kop-conformance/kop-conformance/conformance/env"
	"github.com/kop-conformance/kop-conformance/conformance/rules"
	"github.com/kop-conformance/kop-conformance/fixtures/certs"
	"github.com/kop-conformance/kop-conformance/matrix/dims"
)

func TestConformance(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "kop-conformance")
}

var (
	// target is shared with every parallel process.
	target clients.Target
	// environment exists on process 1 only (it owns containers and proxies; Serial specs run there).
	environment *env.Env
	certDir     string // process 1's generated certificates
)

// matrixTarget is known when the spec tree is built, before any container starts.
var matrixTarget = func() rules.Target {
	name := os.Getenv("KOP_TARGET")
	if name == "" {
		name = "reference"
	}
	return rules.TargetNamed(name)
}()

var _ = SynchronizedBeforeSuite(func(ctx SpecContext) []byte {
	opts := []env.Option{
		env.WithPulsarImage(os.Getenv("KOP_PULSAR_IMAGE")),
		env.WithReferenceImage(os.Getenv("KOP_REFERENCE_IMAGE")),
		env.WithKafkaImage(os.Getenv("KOP_KAFKA_IMAGE")),
		env.WithLogDir(os.Getenv("KOP_LOG_DIR")),
		env.WithFault(os.Getenv("KOP_FAULT")),
		env.WithReferenceMemory(hostileMemory),
		env.WithProgress(GinkgoWriter),
	}
	var err error
	if matrixTarget.Controllable {
		// Certificates for the TLS listeners, made fresh for this run and removed after it.
		certDir, err = os.MkdirTemp("", "kop-certs-")
		Expect(err).NotTo(HaveOccurred())
		Expect(certs.Generate(certDir, []string{"127.0.0.1", "localhost"})).To(Succeed())
		opts = append(opts, env.WithCerts(certDir), env.WithSASL())
	}
	switch matrixTarget.Name {
	case "reference":
		environment, err = env.Start(ctx, opts...)
	case "kafka":
		environment, err = env.StartKafka(ctx, opts...)
	case "external":
		addr := os.Getenv("KOP_BOOTSTRAP")
		Expect(addr).NotTo(BeEmpty(), "KOP_TARGET=external needs KOP_BOOTSTRAP=host:port")
		environment, err = env.External(ctx, "external", addr, opts...)
	default:
		Fail(fmt.Sprintf("unknown KOP_TARGET %q (reference, kafka or external)", matrixTarget.Name))
	}
	Expect(err).NotTo(HaveOccurred())
	t := environment.Target
	fmt.Fprintf(GinkgoWriter, "target %s at %s\n", t.Name, t.Bootstrap)
	data, err := json.Marshal(t)
	Expect(err).NotTo(HaveOccurred())
	return data
}, func(data []byte) {
	Expect(json.Unmarshal(data, &target)).To(Succeed())
}, NodeTimeout(5*time.Minute))

var _ = SynchronizedAfterSuite(closePulsar, func(ctx SpecContext) {
	if environment != nil {
		environment.Stop(ctx)
	}
	if certDir != "" {
		os.RemoveAll(certDir)
	}
}, NodeTimeout(2*time.Minute))

// cell is one (client, level) column of the matrix for a feature. Cells come from cells(), so
// the feature is one the rules declare.
type cell struct {
	kind    clients.Kind
	level   string
	feature string
}

func (c cell) String() string { return c.kind.Name + "@" + c.level }

// levelAtLeast says whether the cell's level is min or newer.
func (c cell) levelAtLeast(min string) bool { return dims.LevelAtLeast(c.level, min) }

// labels put a spec in the cell (dims.Spec).
func (c cell) labels() Labels {
	return Label(dims.Spec{Clients: []string{c.kind.Name}, Level: c.level, Feature: c.feature}.Labels()...)
}

// cells lists the applicable (client, level) pairs for a feature; inapplicable ones are not
// specs at all, and the matrix marks them N/A (or not served) from the same rules. A feature
// missing from the rules stops the suite: a mistyped name must not select nothing.
func cells(feature string) []cell {
	if _, ok := rules.Lookup(feature); !ok {
		panic(fmt.Sprintf("suite: feature %q is not declared in conformance/rules", feature))
	}
	var out []cell
	for _, k := range clients.Kinds {
		for _, lv := range dims.Levels() {
			if rules.Runs(feature, k.Name, lv, matrixTarget) {
				out = append(out, cell{kind: k, level: lv, feature: feature})
			}
		}
	}
	return out
}

// open returns a client for the cell, closed when the spec ends.
func (c cell) open() clients.Client {
	GinkgoHelper()
	cl, err := c.kind.New(target, c.level)
	Expect(err).NotTo(HaveOccurred(), "creating %s client", c)
	DeferCleanup(cl.Close)
	return cl
}

var topicSeq = 0

// topicName is a new, unique topic name for the cell (ct-*: the prefix the security specs'
// grants cover).
func topicName(c cell, feature string) string {
	topicSeq++
	return fmt.Sprintf("ct-%s-%s-%s-p%d-%d-%d", feature, c.kind.Name, c.level, GinkgoParallelProcess(), topicSeq, time.Now().UnixNano()%1e9)
}

// newTopic creates a uniquely named topic with the cell's own client and waits until every
// partition answers. Kafka creates topics asynchronously: for a moment after CreateTopics the
// broker may answer NOT_LEADER_FOR_PARTITION, and applications wait exactly like this.
func newTopic(ctx context.Context, cl clients.Client, c cell, feature string, partitions int32) string {
	GinkgoHelper()
	name := topicName(c, feature)
	Expect(cl.CreateTopic(ctx, name, partitions)).To(Succeed(), "creating topic %s", name)
	for p := int32(0); p < partitions; p++ {
		Eventually(ctx, func() error {
			_, err := cl.ListOffset(ctx, name, p, clients.Latest)
			return err
		}).WithTimeout(30*time.Second).WithPolling(50*time.Millisecond).Should(Succeed(), "partition %d of %s becomes ready", p, name)
	}
	return name
}
