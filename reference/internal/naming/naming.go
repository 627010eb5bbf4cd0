// Package naming maps Kafka topic names to Pulsar topic names and back. It is the only place
// that knows the mapping; everything that hands a topic name to Pulsar (storage, catalog, auth)
// or reads one from Pulsar goes through ToPulsar and FromPulsar.
//
// Kafka topic t, partition N, is partition N of the Pulsar partitioned topic ToPulsar(t), that
// is persistent://<tenant>/<namespace>/ToPulsar(t)-partition-N. A legal Kafka name (Kafka's
// rules: 1 to 249 characters of [a-zA-Z0-9._-], not "." or "..") may contain "-partition-",
// which Pulsar reserves: it refuses to create a partitioned topic whose name contains it (412,
// "Partitioned Topic Name should not contain '-partition-'"), and Kafka's "t-partition-3"
// would otherwise be the same Pulsar topic as partition 3 of Kafka's "t".
//
// The scheme: ToPulsar replaces every "-partition-" with "-partition=" (left to right, without
// overlap), and FromPulsar undoes it. '=' never occurs in a Kafka name, so the escape cannot be
// confused with a name's own characters, and the result never contains "-partition-" (each
// occurrence loses its last '-', and one that overlapped a replaced occurrence loses its
// first). Pulsar accepts '=': even its strict topic-name check (strictTopicNameEnabled) allows
// [a-zA-Z0-9_] and "-=:.", and '=' is unreserved in a URL path segment, so the admin REST API
// and the binary protocol see the same name. Names without "-partition-" (nearly all) are the
// same in Kafka and in Pulsar, so native Pulsar clients use the Kafka name as it is.
package naming

import (
	"fmt"
	"strings"
)

// MaxLength is the longest legal Kafka topic name.
const MaxLength = 249

const (
	reserved = "-partition-" // Pulsar's partition suffix
	escaped  = "-partition=" // what it becomes in a Pulsar name
)

// Check applies Kafka's topic name rules: nil for a legal name, else why it is not.
func Check(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("topic name is empty")
	case name == "." || name == "..":
		return fmt.Errorf("topic name cannot be %q", name)
	case len(name) > MaxLength:
		return fmt.Errorf("topic name is %d characters, the limit is %d", len(name), MaxLength)
	}
	for i := 0; i < len(name); i++ {
		if !legalByte(name[i]) {
			return fmt.Errorf("topic name %q contains characters other than ASCII alphanumerics, '.', '_' and '-'", name)
		}
	}
	return nil
}

func legalByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-'
}

// ToPulsar is the Pulsar local name (the part after tenant/namespace/) of the partitioned topic
// that holds Kafka topic name. name must be legal (Check); callers check before calling.
func ToPulsar(name string) string {
	return strings.ReplaceAll(name, reserved, escaped)
}

// FromPulsar is the Kafka topic stored in the Pulsar partitioned topic with this local name.
// ok is false when the name is not ToPulsar of any legal Kafka name (a Pulsar topic that is not
// a Kafka topic): the mapping is a bijection between legal Kafka names and its image.
func FromPulsar(local string) (name string, ok bool) {
	name = strings.ReplaceAll(local, escaped, reserved)
	if Check(name) != nil || ToPulsar(name) != local {
		return "", false
	}
	return name, true
}
