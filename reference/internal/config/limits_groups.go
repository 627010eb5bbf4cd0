package config

import (
	"flag"
	"fmt"
	"strconv"
	"time"

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
	// InitialRebalanceDelay is Kafka's group.initial.rebalance.delay.ms (package group).
	// Default 100ms.
	InitialRebalanceDelay time.Duration
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
	delay := fs.String("group-initial-rebalance-delay", env("KOP_GROUP_INITIAL_REBALANCE_DELAY", group.DefaultInitialRebalanceDelay.String()),
		"how long an Empty group's first join waits for more members (a new group's, again for each one that joins meanwhile), within the rebalance timeout (Kafka's group.initial.rebalance.delay.ms); 0 completes at once (env KOP_GROUP_INITIAL_REBALANCE_DELAY)")
	return func() (GroupLimits, error) {
		var l GroupLimits
		d, err := time.ParseDuration(*delay)
		if err != nil || d < 0 || d > 5*time.Minute {
			return GroupLimits{}, fmt.Errorf("group-initial-rebalance-delay: %q is not a duration from 0 to 5m", *delay)
		}
		l.InitialRebalanceDelay = d
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
