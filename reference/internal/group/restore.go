package group

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/kop-conformance/kop-conformance/reference/internal/naming"
	"github.com/kop-conformance/kop-conformance/reference/internal/safe"
)

// Restoring the state topic. Anyone who could produce to the topic could have written any
// record, and a broken gateway could have written a bad one, so each record is decoded and
// checked on its own, as a coordinator would have produced it: a record that is not valid is
// logged and skipped, and the rest are restored. A skipped membership record costs that group
// a rebalance; a skipped offset, that partition's committed offset.

// restore loads what the state topic holds.
func (c *Coordinator) restore(entries map[string][]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var nOffsets, nGroups, nSkipped int
	for k, v := range entries {
		var err error
		switch {
		case strings.HasPrefix(k, "offset:"):
			var gid string
			var p tp
			var so storedOffset
			if err = safe.Call(func() (err error) { gid, p, so, err = c.decodeOffset(k, v); return err }); err == nil {
				c.groupLocked(gid).offsets[p] = so
				nOffsets++
			}
		case strings.HasPrefix(k, "group:"):
			var gid string
			var sg storedGroup
			if err = safe.Call(func() (err error) { gid, sg, err = c.decodeGroup(k, v); return err }); err == nil {
				c.restoreGroupLocked(gid, sg)
				nGroups++
			}
		default:
			err = errors.New("not a group or offset key")
		}
		if err != nil {
			nSkipped++
			c.log.Warn("group state: skipping an invalid record", "key", truncate(k, 200), "bytes", len(v), "err", err)
		}
	}
	c.log.Info("group state restored", "groups", nGroups, "offsets", nOffsets, "skipped", nSkipped)
	if len(c.groups) > c.cfg.MaxGroups {
		c.log.Warn("group state holds more groups than max-groups: no new group until some are deleted", "groups", len(c.groups), "max_groups", c.cfg.MaxGroups)
	}
}

func (c *Coordinator) restoreGroupLocked(gid string, sg storedGroup) {
	g := c.groupLocked(gid)
	g.protocolType, g.protocol, g.generation, g.leader = sg.ProtocolType, sg.Protocol, sg.Generation, sg.Leader
	for _, sm := range sg.Members {
		m := &member{id: sm.ID, instanceID: sm.InstanceID, clientID: sm.ClientID, clientHost: sm.ClientHost,
			session: time.Duration(sm.SessionTimeout) * time.Millisecond, rebalance: time.Duration(sm.RebalanceTimeout) * time.Millisecond,
			protocols: sm.Protocols, assignment: sm.Assignment}
		g.members[m.id] = m
		g.order = append(g.order, m.id)
		if m.instanceID != nil {
			g.statics[*m.instanceID] = m.id
		}
		// Members must heartbeat again within their session timeout, as after a coordinator
		// move in Kafka.
		c.touchLocked(g, m)
	}
	if len(g.members) > 0 {
		g.state = Stable
	}
}

// decodeOffset reads an offset record: key offset:[group, topic, partition].
func (c *Coordinator) decodeOffset(k string, v []byte) (string, tp, storedOffset, error) {
	var key []json.RawMessage
	if err := json.Unmarshal([]byte(k[len("offset:"):]), &key); err != nil {
		return "", tp{}, storedOffset{}, fmt.Errorf("key: %w", err)
	}
	if len(key) != 3 {
		return "", tp{}, storedOffset{}, fmt.Errorf("key has %d elements, not 3", len(key))
	}
	var gid, topic string
	var part int32
	if err := json.Unmarshal(key[0], &gid); err != nil || gid == "" {
		return "", tp{}, storedOffset{}, errors.New("key: the group is not a non-empty string")
	}
	if err := json.Unmarshal(key[1], &topic); err != nil || naming.Check(topic) != nil {
		return "", tp{}, storedOffset{}, errors.New("key: the topic is not a legal topic name")
	}
	if err := json.Unmarshal(key[2], &part); err != nil || part < 0 {
		return "", tp{}, storedOffset{}, errors.New("key: the partition is not a 32-bit integer of at least 0")
	}
	var so storedOffset
	if err := json.Unmarshal(v, &so); err != nil {
		return "", tp{}, storedOffset{}, fmt.Errorf("value: %w", err)
	}
	if so.Metadata != nil && len(*so.Metadata) > c.cfg.MaxMetadataBytes {
		return "", tp{}, storedOffset{}, fmt.Errorf("value: %d bytes of metadata, more than a commit may have (%d)", len(*so.Metadata), c.cfg.MaxMetadataBytes)
	}
	return gid, tp{topic, part}, so, nil
}

// decodeGroup reads a membership record: key group:[group], value a storedGroup that a
// coordinator could have written.
func (c *Coordinator) decodeGroup(k string, v []byte) (string, storedGroup, error) {
	var key []string
	if err := json.Unmarshal([]byte(k[len("group:"):]), &key); err != nil {
		return "", storedGroup{}, fmt.Errorf("key: %w", err)
	}
	if len(key) != 1 || key[0] == "" {
		return "", storedGroup{}, errors.New("key does not name one group")
	}
	var sg storedGroup
	if err := json.Unmarshal(v, &sg); err != nil {
		return "", storedGroup{}, fmt.Errorf("value: %w", err)
	}
	if err := c.checkGroup(sg); err != nil {
		return "", storedGroup{}, fmt.Errorf("value: %w", err)
	}
	return key[0], sg, nil
}

func (c *Coordinator) checkGroup(sg storedGroup) error {
	switch {
	case sg.Generation < 0:
		return fmt.Errorf("negative generation %d", sg.Generation)
	case len(sg.Members) == 0:
		return nil // an Empty group
	case len(sg.Members) > c.cfg.MaxMembers:
		return fmt.Errorf("%d members, more than a group may have (%d)", len(sg.Members), c.cfg.MaxMembers)
	case sg.ProtocolType == "" || sg.Protocol == "":
		return errors.New("members without a protocol type and a chosen protocol")
	}
	ids, instances := map[string]bool{}, map[string]bool{}
	for i, sm := range sg.Members {
		switch {
		case sm.ID == "":
			return fmt.Errorf("member %d has no id", i)
		case ids[sm.ID]:
			return fmt.Errorf("member id %q appears twice", truncate(sm.ID, 100))
		case sm.InstanceID != nil && instances[*sm.InstanceID]:
			return fmt.Errorf("instance id %q appears twice", truncate(*sm.InstanceID, 100))
		case !hasProtocol(&member{protocols: sm.Protocols}, sg.Protocol):
			return fmt.Errorf("member %q does not support the group's protocol", truncate(sm.ID, 100))
		}
		session := time.Duration(sm.SessionTimeout) * time.Millisecond
		if sm.SessionTimeout <= 0 || sm.SessionTimeout > c.cfg.MaxSessionTimeout.Milliseconds() || session < c.cfg.MinSessionTimeout {
			return fmt.Errorf("member %q: session timeout %dms out of bounds", truncate(sm.ID, 100), sm.SessionTimeout)
		}
		if sm.RebalanceTimeout <= 0 || sm.RebalanceTimeout > math.MaxInt32 {
			return fmt.Errorf("member %q: rebalance timeout %dms out of bounds", truncate(sm.ID, 100), sm.RebalanceTimeout)
		}
		ids[sm.ID] = true
		if sm.InstanceID != nil {
			instances[*sm.InstanceID] = true
		}
	}
	if !ids[sg.Leader] {
		return fmt.Errorf("leader %q is not a member", truncate(sg.Leader, 100))
	}
	return nil
}

// truncate shortens what a forged record may make arbitrarily long, for the log.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
