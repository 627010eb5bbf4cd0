package config

import (
	"flag"
	"strconv"

	"github.com/kop-conformance/kop-conformance/reference/internal/group"
)

// GroupLimits bound the state clients can make the group coordinator hold (package group).
// Kafka limits neither groups nor, by default, members (group.max.size is unlimited); a
// gateway anyone can reach needs both, so the defaults are finite and generous.
type GroupLimits struct {
	// MaxGroups: a new group beyond it is COORDINATOR_NOT_AVAILABLE. Default 10000.
	MaxGroups int
	// MaxMembers is Kafka's group.max.size: a new member of a group that has as many is
	// GROUP_MAX_SIZE_REACHED. Default 1000.
	MaxMembers int
	// MaxPendingMembers bounds the member ids a group hands out with MEMBER_ID_REQUIRED
	// (KIP-394) and that are not used yet; beyond it a JoinGroup without a member id is
	// COORDINATOR_NOT_AVAILABLE until ids expire (after the session timeout their joins asked
	// for). Default 1000.
	MaxPendingMembers int
}

// groupLimitFlags registers the group limits' flags, with their KOP_* variables as defaults;
// the function it returns reads and checks them once the flags are parsed.
func groupLimitFlags(fs *flag.FlagSet, env func(name, def string) string) func() (GroupLimits, error) {
	maxGroups := fs.String("max-groups", env("KOP_MAX_GROUPS", strconv.Itoa(group.DefaultMaxGroups)),
		"groups the gateway coordinates at most; a new group beyond them is COORDINATOR_NOT_AVAILABLE (env KOP_MAX_GROUPS)")
	maxSize := fs.String("group-max-size", env("KOP_GROUP_MAX_SIZE", strconv.Itoa(group.DefaultMaxMembers)),
		"members per group at most (Kafka's group.max.size); a new member beyond them is GROUP_MAX_SIZE_REACHED (env KOP_GROUP_MAX_SIZE)")
	maxPending := fs.String("group-max-pending-members", env("KOP_GROUP_MAX_PENDING_MEMBERS", strconv.Itoa(group.DefaultMaxPendingMembers)),
		"member ids a group hands out with MEMBER_ID_REQUIRED and not yet used, at most; a JoinGroup without a member id beyond them is COORDINATOR_NOT_AVAILABLE until ids expire (env KOP_GROUP_MAX_PENDING_MEMBERS)")
	return func() (GroupLimits, error) {
		var l GroupLimits
		for _, f := range []struct {
			name, value string
			to          *int
		}{{"max-groups", *maxGroups, &l.MaxGroups}, {"group-max-size", *maxSize, &l.MaxMembers}, {"group-max-pending-members", *maxPending, &l.MaxPendingMembers}} {
			n, err := int32Flag(f.name, f.value, 1)
			if err != nil {
				return GroupLimits{}, err
			}
			*f.to = int(n)
		}
		return l, nil
	}
}
