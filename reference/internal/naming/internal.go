package naming

import (
	"fmt"
	"strings"
)

// Internal topics: the state the gateway keeps for itself (group metadata and committed offsets,
// log starts moved by DeleteRecords) lives in Pulsar topics of a namespace of its own, not in
// the namespace of Kafka topics, where any principal granted the namespace could read or forge
// them with a Pulsar client. Kafka clients cannot name them either: InternalPrefix is reserved,
// so a Kafka request naming such a topic is refused before it reaches Pulsar.
const (
	// InternalPrefix starts every internal topic's name; Kafka topics may not start with it.
	InternalPrefix = "__kop"
	// GroupsTopic holds group metadata and committed offsets (compacted).
	GroupsTopic = InternalPrefix + "_groups"
	// LogStartTopic holds the log starts DeleteRecords moved (compacted).
	LogStartTopic = InternalPrefix + "_log_start"
	// DefaultInternalNamespace is the internal namespace's name in the Kafka topics' tenant
	// when none is configured.
	DefaultInternalNamespace = "kop-internal"
)

// maxNameLength bounds a tenant or namespace name.
const maxNameLength = 255

// InternalNamespace is the namespace ("tenant/namespace") of the internal topics: configured
// (--internal-namespace), or DefaultInternalNamespace in tenant when configured is empty. It
// refuses what Pulsar would: anything but two names of [a-zA-Z0-9_=:.-].
func InternalNamespace(tenant, configured string) (string, error) {
	if configured == "" {
		configured = tenant + "/" + DefaultInternalNamespace
	}
	t, ns, ok := strings.Cut(configured, "/")
	if !ok || t == "" || ns == "" || strings.Contains(ns, "/") {
		return "", fmt.Errorf("internal namespace %q is not TENANT/NAMESPACE", configured)
	}
	for _, name := range []string{t, ns} {
		if len(name) > maxNameLength {
			return "", fmt.Errorf("internal namespace %q: %q is too long (%d bytes, at most %d)", configured, name[:16]+"...", len(name), maxNameLength)
		}
		for i := 0; i < len(name); i++ {
			if c := name[i]; !legalByte(c) && c != '=' && c != ':' {
				return "", fmt.Errorf("internal namespace %q contains characters other than ASCII alphanumerics and _ = : . -", configured)
			}
		}
	}
	return configured, nil
}

// InternalTopic is the full Pulsar name of the internal topic name in namespace (as returned by
// InternalNamespace): a non-partitioned persistent topic.
func InternalTopic(namespace, name string) string {
	return "persistent://" + namespace + "/" + name
}
