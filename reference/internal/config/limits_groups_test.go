package config

import (
	"strings"
	"testing"
)

func TestGroupLimits(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want GroupLimits
		err  string // a part of the error, "" for none
	}{
		{name: "defaults", want: GroupLimits{MaxGroups: 10000, MaxMembers: 1000, MaxPendingMembers: 1000}},
		{name: "from the environment",
			env:  map[string]string{"KOP_MAX_GROUPS": "5", "KOP_GROUP_MAX_SIZE": "6", "KOP_GROUP_MAX_PENDING_MEMBERS": "7"},
			want: GroupLimits{MaxGroups: 5, MaxMembers: 6, MaxPendingMembers: 7}},
		{name: "a flag wins over its variable", args: []string{"--max-groups", "3", "--group-max-size", "4", "--group-max-pending-members", "2"},
			env:  map[string]string{"KOP_MAX_GROUPS": "5", "KOP_GROUP_MAX_SIZE": "6"},
			want: GroupLimits{MaxGroups: 3, MaxMembers: 4, MaxPendingMembers: 2}},
		{name: "zero groups", args: []string{"--max-groups", "0"}, err: "max-groups: 0 is below the minimum 1"},
		{name: "a negative group size", env: map[string]string{"KOP_GROUP_MAX_SIZE": "-1"}, err: "group-max-size: -1 is below the minimum 1"},
		{name: "not a number", args: []string{"--group-max-pending-members", "many"}, err: `group-max-pending-members: "many" is not a 32-bit integer`},
		{name: "too large", args: []string{"--max-groups", "4294967296"}, err: "max-groups"},
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
