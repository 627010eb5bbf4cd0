package config

import (
	"strings"
	"testing"
	"time"
)

func TestGroupLimits(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want GroupLimits
		err  string // a part of the error, "" for none
	}{
		{name: "defaults", want: GroupLimits{MaxGroups: 10000, MaxMembers: 1000, MaxPendingMembers: 1000, InitialRebalanceDelay: 100 * time.Millisecond}},
		{name: "from the environment",
			env:  map[string]string{"KOP_MAX_GROUPS": "5", "KOP_GROUP_MAX_SIZE": "6", "KOP_GROUP_MAX_PENDING_MEMBERS": "7", "KOP_GROUP_INITIAL_REBALANCE_DELAY": "0"},
			want: GroupLimits{MaxGroups: 5, MaxMembers: 6, MaxPendingMembers: 7}},
		{name: "a flag wins over its variable", args: []string{"--max-groups", "3", "--group-max-size", "4", "--group-max-pending-members", "2", "--group-initial-rebalance-delay", "3s"},
			env:  map[string]string{"KOP_MAX_GROUPS": "5", "KOP_GROUP_MAX_SIZE": "6", "KOP_GROUP_INITIAL_REBALANCE_DELAY": "1s"},
			want: GroupLimits{MaxGroups: 3, MaxMembers: 4, MaxPendingMembers: 2, InitialRebalanceDelay: 3 * time.Second}},
		{name: "zero groups", args: []string{"--max-groups", "0"}, err: "max-groups: 0 is below the minimum 1"},
		{name: "a negative group size", env: map[string]string{"KOP_GROUP_MAX_SIZE": "-1"}, err: "group-max-size: -1 is below the minimum 1"},
		{name: "not a number", args: []string{"--group-max-pending-members", "many"}, err: `group-max-pending-members: "many" is not a 32-bit integer`},
		{name: "too large", args: []string{"--max-groups", "4294967296"}, err: "max-groups"},
		{name: "a negative delay", args: []string{"--group-initial-rebalance-delay", "-1s"}, err: `group-initial-rebalance-delay: "-1s" is not a duration from 0 to 5m`},
		{name: "a delay without a unit", env: map[string]string{"KOP_GROUP_INITIAL_REBALANCE_DELAY": "100"}, err: `group-initial-rebalance-delay: "100"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.args, func(k string) string { return tc.env[k] })
			switch {
			case tc.err != "":
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want it to mention %q", err, tc.err)
				}
			case err != nil:
				t.Fatal(err)
			case c.Groups != tc.want:
				t.Fatalf("group limits %+v, want %+v", c.Groups, tc.want)
			}
		})
	}
}
