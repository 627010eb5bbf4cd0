// Package dims names the dimensions of the compatibility matrix and how a spec carries them:
// the Kafka protocol levels (each with the version table of its Kafka release), the client
// libraries under test, and the Ginkgo labels (client:, level:, feature:, nightly) that put a
// spec in its cell. It imports nothing of this module, so the reference server, the level
// proxy, the adapters, the rules, the suite and the matrix tool all read one list of each.
//
// The features (the matrix rows) are declared with their rules in conformance/rules.
package dims

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kversion"
)

// Level is one Kafka protocol level: what a broker of one Kafka release advertised.
type Level struct {
	Name string // "2.6"
	// Release is the Kafka release ("2.6.0"). Clients that pin themselves by release name
	// (sarama's Config.Version) are set to it.
	Release  string
	versions func() *kversion.Versions
}

// Versions is the level's API version table (franz-go's kversion for the release): what a
// listener capped to the level advertises, what franz-go is pinned to, and what every
// client's requests at the level are checked against on the wire.
func (l Level) Versions() *kversion.Versions { return l.versions() }

// levels are the protocol levels the project covers, ascending.
var levels = []Level{
	{"1.0", "1.0.0", kversion.V1_0_0}, {"1.1", "1.1.0", kversion.V1_1_0},
	{"2.0", "2.0.0", kversion.V2_0_0}, {"2.1", "2.1.0", kversion.V2_1_0}, {"2.2", "2.2.0", kversion.V2_2_0},
	{"2.3", "2.3.0", kversion.V2_3_0}, {"2.4", "2.4.0", kversion.V2_4_0}, {"2.5", "2.5.0", kversion.V2_5_0},
	{"2.6", "2.6.0", kversion.V2_6_0},
}

// Levels returns the level names in ascending order.
func Levels() []string {
	out := make([]string, len(levels))
	for i, l := range levels {
		out[i] = l.Name
	}
	return out
}

// levelsByName indexes levels.
var levelsByName = func() map[string]Level {
	out := make(map[string]Level, len(levels))
	for _, l := range levels {
		out[l.Name] = l
	}
	return out
}()

// LevelNamed returns the level of that name.
func LevelNamed(name string) (Level, bool) {
	l, ok := levelsByName[name]
	return l, ok
}

// VersionTables maps every level name to its version table (a fresh copy per call).
func VersionTables() map[string]func() *kversion.Versions {
	out := make(map[string]func() *kversion.Versions, len(levels))
	for _, l := range levels {
		out[l.Name] = l.versions
	}
	return out
}

// CompareLevels compares two protocol levels ("2.6") by their numbers: -1, 0 or 1. A part
// that is not a number compares as 0.
func CompareLevels(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return cmp.Compare(x, y)
		}
	}
	return 0
}

// LevelAtLeast says whether level is min or newer, by their numbers ("2.10" > "2.9").
func LevelAtLeast(level, min string) bool { return CompareLevels(level, min) >= 0 }

// The client libraries under test (the matrix columns).
const (
	FranzGo = "franz-go"
	Sarama  = "sarama"
	KafkaGo = "kafka-go"
)

// Clients returns the client names in report order.
func Clients() []string { return []string{FranzGo, Sarama, KafkaGo} }

// IsClient says whether name is one of the clients.
func IsClient(name string) bool { return slices.Contains(Clients(), name) }
