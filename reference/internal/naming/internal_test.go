package naming

import (
	"strings"
	"testing"
)

func TestInternalTopics(t *testing.T) {
	cases := []struct {
		tenant, flag string // the Kafka topics' tenant, the --internal-namespace value
		want         string // the namespace, "" when refused
		groups       string // the group state topic's full name
		err          string // a part of the refusal
	}{
		{tenant: "public", want: "public/kop-internal", groups: "persistent://public/kop-internal/__kop_groups"},
		{tenant: "acme", want: "acme/kop-internal", groups: "persistent://acme/kop-internal/__kop_groups"},
		{tenant: "public", flag: "ops/kafka-state", want: "ops/kafka-state", groups: "persistent://ops/kafka-state/__kop_groups"},
		{tenant: "public", flag: "a-b/c_d.e=f:g", want: "a-b/c_d.e=f:g", groups: "persistent://a-b/c_d.e=f:g/__kop_groups"},
		{tenant: "public", flag: "public", err: "TENANT/NAMESPACE"},
		{tenant: "public", flag: "public/", err: "TENANT/NAMESPACE"},
		{tenant: "public", flag: "/ns", err: "TENANT/NAMESPACE"},
		{tenant: "public", flag: "a/b/c", err: "TENANT/NAMESPACE"},
		{tenant: "public", flag: "public/kop internal", err: "characters"},
		{tenant: "public", flag: "public/k?p", err: "characters"},
		{tenant: "public", flag: "públic/ns", err: "characters"},
		{tenant: "public", flag: "public/" + strings.Repeat("n", 300), err: "long"},
	}
	for _, tc := range cases {
		ns, err := InternalNamespace(tc.tenant, tc.flag)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("InternalNamespace(%q, %q) = %q, %v; want an error mentioning %q", tc.tenant, tc.flag, ns, err, tc.err)
			}
		case err != nil || ns != tc.want:
			t.Errorf("InternalNamespace(%q, %q) = %q, %v; want %q", tc.tenant, tc.flag, ns, err, tc.want)
		default:
			if got := InternalTopic(ns, GroupsTopic); got != tc.groups {
				t.Errorf("InternalTopic(%q, GroupsTopic) = %q, want %q", ns, got, tc.groups)
			}
		}
	}
	if GroupsTopic == LogStartTopic || !strings.HasPrefix(GroupsTopic, InternalPrefix) || !strings.HasPrefix(LogStartTopic, InternalPrefix) {
		t.Errorf("internal topics %q and %q must differ and carry the reserved prefix %q", GroupsTopic, LogStartTopic, InternalPrefix)
	}
}
