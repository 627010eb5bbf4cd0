package rules

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// The fault run (conformance/suite/faults_test.go) is not a matrix row: it drives one client
// at the top protocol level through faults injected into the target, so it has no client and
// level columns to fill, and the matrix tool reports it in a Faults section of its own. What
// is declared here: the kinds of fault, where each applies and why not, and the APIs the run
// must be seen to send.

// FaultKind is one kind of fault the fault run injects and heals.
type FaultKind struct {
	Name        string
	Description string
	// WithoutPulsar, when set, says why the kind does not apply to a target that does not
	// store its data in a Pulsar the suite runs.
	WithoutPulsar string
}

// The kinds of fault.
const (
	KillServer       = "kill-server"
	PauseStorage     = "pause-storage"
	RestartPulsar    = "restart-pulsar"
	DisconnectPulsar = "disconnect-pulsar"
	UnloadBundle     = "unload-bundle"
)

// FaultKinds are the kinds of fault, in the order a round of the fault run injects them.
var FaultKinds = []FaultKind{
	{Name: KillServer, Description: "the Kafka-protocol server (the reference gateway; the Kafka broker) killed with SIGKILL and started again on the same ports"},
	{Name: PauseStorage, Description: "the container that keeps the log (Pulsar behind the reference; the Kafka broker itself) paused for longer than the clients' request timeout, then unpaused"},
	{Name: RestartPulsar, Description: "Pulsar stopped (SIGTERM, SIGKILL after 10 s) and started again; the gateway keeps running",
		WithoutPulsar: "Kafka keeps its log itself: there is no Pulsar to restart (kill-server restarts the broker)"},
	{Name: DisconnectPulsar, Description: "the gateway's container disconnected from the Docker network it shares with Pulsar (its published ports go with it), then reconnected under its alias",
		WithoutPulsar: "a single Kafka broker keeps its log on its own disk: there is no storage across a network to cut it from"},
	{Name: UnloadBundle, Description: "the Pulsar namespace bundles owning the topic's partitions unloaded through Pulsar's admin API, so the broker closes and reopens them",
		WithoutPulsar: "namespace bundles are Pulsar's; a one-broker Kafka cluster has no partition ownership to move"},
}

// FaultRunAPIs are the requests the fault run's client must be seen to send: those it sends
// all along (produce, the group's fetches and commits, the sampled committed offsets). The
// reference server's wire tap lives in its memory, and kill-server restarts it: requests sent
// only at the start (InitProducerId, JoinGroup) may be gone from it by the end.
var FaultRunAPIs = []kmsg.Key{kmsg.Produce, kmsg.Fetch, kmsg.OffsetCommit, kmsg.OffsetFetch}

// FaultRunApplies says whether the fault run exists on a target, and if not why.
func FaultRunApplies(t Target) (bool, string) {
	if !t.Controllable {
		return false, "needs a server the suite starts, kills and pauses"
	}
	return true, ""
}

// LookupFault returns the kind of fault of that name.
func LookupFault(name string) (FaultKind, bool) {
	i := slices.IndexFunc(FaultKinds, func(k FaultKind) bool { return k.Name == name })
	if i < 0 {
		return FaultKind{}, false
	}
	return FaultKinds[i], true
}

// FaultApplies says whether the fault run injects a kind of fault on a target, and if not
// why. A kind that does not apply is shown as N/A with the reason, never left out.
func FaultApplies(kind string, t Target) (bool, string) {
	k, ok := LookupFault(kind)
	if !ok {
		return false, "unknown kind of fault"
	}
	if ok, why := FaultRunApplies(t); !ok {
		return false, why
	}
	if k.WithoutPulsar != "" && !t.Pulsar {
		return false, k.WithoutPulsar
	}
	return true, ""
}

// FaultsOn lists the kinds of fault injected on a target, in FaultKinds order.
func FaultsOn(t Target) []string {
	var out []string
	for _, k := range FaultKinds {
		if ok, _ := FaultApplies(k.Name, t); ok {
			out = append(out, k.Name)
		}
	}
	return out
}
