package suite

// Features the reference server does not serve (rules: NotServedBy "reference"): their specs
// exist only on targets that serve them (entries consults rules.Runs), so they pass on Apache
// Kafka and the matrix shows the reference's cells as "not served" with the reason.

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
)

var _ = Describe("transactions", func() {
	DescribeTable("read_committed reads the committed transactions only, in order, past aborted records and markers; read_uncommitted reads every record",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			tx, ok := cl.(clients.Transactional)
			Expect(ok).To(BeTrue(), "%s must implement clients.Transactional", c.kind.Name)
			topic := newTopic(ctx, cl, c, "txn", 1)
			recs := sampleRecords(topic, 9)

			By("committing records 0-2, aborting 3-5, committing 6-8, one transactional producer")
			produced, err := tx.ProduceTransactions(ctx, "txn-"+topic, topic, 0, []clients.TxnBatch{
				{Records: recs[0:3], Commit: true},
				{Records: recs[3:6], Commit: false},
				{Records: recs[6:9], Commit: true},
			})
			Expect(err).NotTo(HaveOccurred())
			// Every data record takes one offset, and so does the control record (the
			// COMMIT or ABORT marker) the coordinator writes to the partition when a
			// transaction ends: 0-2 data, 3 commit marker, 4-6 aborted data, 7 abort marker,
			// 8-10 data, 11 commit marker. The log ends at 12, and the offsets a consumer
			// sees skip what it must not return (the markers always, aborted records when
			// reading committed).
			offsets := make([]int64, len(produced))
			for i, r := range produced {
				offsets[i] = r.Offset
			}
			Expect(offsets).To(Equal([]int64{0, 1, 2, 4, 5, 6, 8, 9, 10}), "offsets of the produced records")
			// The coordinator writes the last marker after it answered EndTxn: wait for it.
			Eventually(ctx, func() (int64, error) { return cl.ListOffset(ctx, topic, 0, clients.Latest) }).
				WithTimeout(30*time.Second).Should(Equal(int64(12)), "log end: 9 records and 3 transaction markers")

			By("reading committed from the start")
			committed := []clients.Record{recs[0], recs[1], recs[2], recs[6], recs[7], recs[8]}
			expectRecords(cl.Consume(ctx, clients.ConsumeConfig{Isolation: clients.ReadCommitted}, topic, 0, 0, 6))(committed, []int64{0, 1, 2, 8, 9, 10})

			By("reading committed from inside the aborted transaction")
			expectRecords(cl.Consume(ctx, clients.ConsumeConfig{Isolation: clients.ReadCommitted}, topic, 0, 4, 3))(recs[6:9], []int64{8, 9, 10})

			By("reading uncommitted: the aborted records too, never the markers")
			expectRecords(cl.Consume(ctx, clients.ConsumeConfig{Isolation: clients.ReadUncommitted}, topic, 0, 0, 9))(recs, []int64{0, 1, 2, 4, 5, 6, 8, 9, 10})
		}, entries("transactions"))
})

// expectRecords checks consumed records, in order, against want at the given offsets.
func expectRecords(got []clients.Record, err error) func(want []clients.Record, offsets []int64) {
	return func(want []clients.Record, offsets []int64) {
		GinkgoHelper()
		Expect(err).NotTo(HaveOccurred())
		Expect(got).To(HaveLen(len(want)))
		for i := range want {
			Expect(got[i]).To(matchRecord(want[i], offsets[i]), "record %d", i)
		}
	}
}

// scramRoles are the target's SCRAM users (clients.Target.Users) by mechanism.
var scramRoles = map[string]string{
	clients.MechanismSCRAMSHA256: clients.UserSCRAMSHA256,
	clients.MechanismSCRAMSHA512: clients.UserSCRAMSHA512,
}

var _ = Describe("sasl-scram", func() {
	DescribeTable("a SCRAM user produces and fetches; a wrong password gets SASL_AUTHENTICATION_FAILED",
		// The SCRAM passwords differ from the user's PLAIN one and from each other (conformance/
		// env), so a client that did not run this mechanism's exchange would be refused.
		func(ctx SpecContext, c cell, mechanism string) {
			role := scramRoles[mechanism]
			t, err := target.OverSASL(role)
			Expect(err).NotTo(HaveOccurred())
			Expect(t.SASL.Mechanism).To(Equal(mechanism), "the target's %s user", role)
			cl, err := c.openOn(t, false)
			Expect(err).NotTo(HaveOccurred())
			topic, _ := roundTrip(ctx, cl, c, "scram", 10)

			By("authenticating with a wrong password")
			wrong := *t.SASL
			wrong.Password = "not-" + wrong.Password
			t.SASL = &wrong
			bad, err := c.openOn(t, true)
			if err == nil { // clients that connect lazily fail on their first request
				_, err = bad.TopicPartitions(ctx, topic)
			}
			fmt.Fprintf(GinkgoWriter, "%s, wrong password: %v\n", mechanism, err)
			Expect(clients.ErrorCode(err)).To(Equal(kerr.SaslAuthenticationFailed.Code), "error: %v", err)
		}, variantEntries("sasl-scram", func(cell) []string {
			return []string{clients.MechanismSCRAMSHA256, clients.MechanismSCRAMSHA512}
		}))
})

var _ = Describe("sasl-oauthbearer", func() {
	DescribeTable("an unsecured JWT authenticates as its subject: the allowed one produces and fetches, one without grants gets TOPIC_AUTHORIZATION_FAILED",
		// The tokens' users have no password, so a client that fell back to PLAIN would be
		// refused; Kafka validates the token (alg none, sub, exp) with its default unsecured
		// validator and authorizes the principal User:<sub> with the ACLs of the PLAIN specs.
		func(ctx SpecContext, c cell) {
			cl, err := c.openAs(clients.UserOAuth, false)
			Expect(err).NotTo(HaveOccurred())
			topic, _ := roundTrip(ctx, cl, c, "oauth", 10)

			By("authenticating with a token for a subject without grants")
			denied, err := c.openAs(clients.UserOAuthDenied, true)
			Expect(err).NotTo(HaveOccurred(), "any well-formed unsecured token authenticates")
			_, err = denied.TopicPartitions(ctx, topic)
			Expect(clients.ErrorCode(err)).To(Equal(kerr.TopicAuthorizationFailed.Code), "metadata as the subject without grants: %v", err)
		}, entries("sasl-oauthbearer"))
})

// clockSlack allows for the broker's clock being read at millisecond precision, and for a
// container's clock against the host's.
const clockSlack = time.Second

var _ = Describe("log-append-time", func() {
	DescribeTable("the broker stamps records with its own time, in the produce response and on consumed records",
		func(ctx SpecContext, c cell) {
			cl := c.open()
			at, ok := cl.(clients.AppendTimes)
			Expect(ok).To(BeTrue(), "%s must implement clients.AppendTimes", c.kind.Name)
			topic := newTopicWithConfigs(ctx, cl, at, c, "lat", map[string]string{"message.timestamp.type": "LogAppendTime"})
			Expect(cl.TopicConfigs(ctx, topic, []string{"message.timestamp.type"})).To(HaveKeyWithValue("message.timestamp.type", "LogAppendTime"))

			// The records carry timestamps an hour in the past: the broker must replace them.
			want := sampleRecords(topic, 5)
			before := time.Now()
			produced, err := at.ProduceAppendTime(ctx, want)
			after := time.Now()
			Expect(err).NotTo(HaveOccurred())
			inWindow := And(BeTemporally(">=", before.Add(-clockSlack)), BeTemporally("<=", after.Add(clockSlack)))
			Expect(produced).To(HaveLen(len(want)))
			for i, r := range produced {
				Expect(r.Offset).To(Equal(int64(i)), "offset of record %d", i)
				Expect(r.Timestamp).To(inWindow, "record %d: the produce response's LogAppendTime is the broker's time of the append, between %v and %v", i, before, after)
			}

			got, types, err := at.ConsumeTimestampTypes(ctx, topic, 0, 0, len(want))
			Expect(err).NotTo(HaveOccurred())
			Expect(got).To(HaveLen(len(want)))
			for i := range want {
				Expect(got[i].Timestamp).To(inWindow, "record %d: consumed with the broker's time, not the producer's %v", i, want[i].Timestamp)
				// The stamp consumed is the one the produce response reported; the rest of the
				// record is as produced.
				stamped := want[i]
				stamped.Timestamp = produced[i].Timestamp
				Expect(got[i]).To(matchRecord(stamped, int64(i)), "record %d", i)
				if types[i] != clients.TimestampUnknown {
					Expect(types[i]).To(Equal(clients.TimestampLogAppendTime), "record %d: timestamp type", i)
				}
			}
		}, entries("log-append-time"))
})

// newTopicWithConfigs is newTopic for a topic created with configs.
func newTopicWithConfigs(ctx context.Context, cl clients.Client, tc clients.TopicConfigurer, c cell, feature string, configs map[string]string) string {
	GinkgoHelper()
	topicSeq++
	name := fmt.Sprintf("ct-%s-%s-%s-p%d-%d-%d", feature, c.kind.Name, c.level, GinkgoParallelProcess(), topicSeq, time.Now().UnixNano()%1e9)
	Expect(tc.CreateTopicWithConfigs(ctx, name, 1, configs)).To(Succeed(), "creating topic %s with %v", name, configs)
	Eventually(ctx, func() error {
		_, err := cl.ListOffset(ctx, name, 0, clients.Latest)
		return err
	}).WithTimeout(30*time.Second).WithPolling(50*time.Millisecond).Should(Succeed(), "topic %s becomes ready", name)
	return name
}
