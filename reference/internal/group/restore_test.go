package group

import (
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

// The group state topic is read back whole when the gateway starts. Whatever it holds (a record
// written by a broken gateway, or forged by anyone who can produce to the topic), a record that
// does not decode to a valid group or offset is logged and skipped: the gateway starts, restores
// every other record, and nothing it restored can fail later.

// validGroup is a stored group that restores: two members, the first leading.
func validGroup() storedGroup {
	member := func(id string) storedMember {
		return storedMember{ID: id, ClientID: "c", SessionTimeout: 10000, RebalanceTimeout: 10000,
			Protocols: []Protocol{{Name: "range", Metadata: []byte("m")}}, Assignment: []byte("a")}
	}
	return storedGroup{ProtocolType: "consumer", Protocol: "range", Generation: 3, Leader: "m1",
		Members: []storedMember{member("m1"), member("m2")}}
}

func groupJSON(edit func(*storedGroup)) string {
	sg := validGroup()
	edit(&sg)
	b, _ := json.Marshal(sg)
	return string(b)
}

const validOffset = `{"offset":42,"leader_epoch":-1,"metadata":"md","committed_at_ms":1}`

func TestCorruptStateRecordsAreSkipped(t *testing.T) {
	bad := groupKey("bad")
	badOffset := offsetKey("bad", "t", 0)
	cases := []struct {
		name, key, value string
	}{
		// group records: the value
		{"a truncated group", bad, groupJSON(func(*storedGroup) {})[:40]},
		{"bytes after the group", bad, groupJSON(func(*storedGroup) {}) + "x"},
		{"not JSON at all", bad, "\x00\xff\xfe"},
		{"a generation that is a string", bad, `{"protocol_type":"consumer","generation":"3"}`},
		{"a generation beyond 32 bits", bad, `{"protocol_type":"consumer","generation":4294967296}`},
		{"members that are an object", bad, `{"protocol_type":"consumer","members":{"id":"m1"}}`},
		{"a member that is null", bad, `{"protocol_type":"consumer","protocol":"range","leader":"","members":[null]}`},
		{"protocol metadata that is a number", bad, strings.Replace(groupJSON(func(*storedGroup) {}), `"metadata":"bQ=="`, `"metadata":5`, 1)},
		{"a negative generation", bad, groupJSON(func(sg *storedGroup) { sg.Generation = -1 })},
		{"a member without an id", bad, groupJSON(func(sg *storedGroup) { sg.Members[1].ID = "" })},
		{"two members with one id", bad, groupJSON(func(sg *storedGroup) { sg.Members[1].ID = "m1" })},
		{"two members with one instance id", bad, groupJSON(func(sg *storedGroup) {
			sg.Members[0].InstanceID, sg.Members[1].InstanceID = strPtr("i"), strPtr("i")
		})},
		{"a member without protocols", bad, groupJSON(func(sg *storedGroup) { sg.Members[1].Protocols = nil })},
		{"a leader that is not a member", bad, groupJSON(func(sg *storedGroup) { sg.Leader = "m3" })},
		{"members without a protocol type", bad, groupJSON(func(sg *storedGroup) { sg.ProtocolType = "" })},
		{"members without a chosen protocol", bad, groupJSON(func(sg *storedGroup) { sg.Protocol = "" })},
		{"a protocol a member does not support", bad, groupJSON(func(sg *storedGroup) { sg.Protocol = "sticky" })},
		{"a session timeout of zero", bad, groupJSON(func(sg *storedGroup) { sg.Members[0].SessionTimeout = 0 })},
		{"a negative session timeout", bad, groupJSON(func(sg *storedGroup) { sg.Members[0].SessionTimeout = -5 })},
		{"a session timeout beyond the maximum", bad, groupJSON(func(sg *storedGroup) { sg.Members[0].SessionTimeout = 1 << 62 })},
		{"a negative rebalance timeout", bad, groupJSON(func(sg *storedGroup) { sg.Members[0].RebalanceTimeout = -1 })},
		{"a rebalance timeout beyond 32 bits of milliseconds", bad, groupJSON(func(sg *storedGroup) { sg.Members[0].RebalanceTimeout = 1 << 40 })},
		{"more members than a group may have", bad, groupJSON(func(sg *storedGroup) {
			for i := range 3 {
				m := sg.Members[1]
				m.ID = "extra" + string(rune('a'+i))
				sg.Members = append(sg.Members, m)
			}
		})},
		// group records: the key
		{"a group key that is not JSON", "group:[bad", groupJSON(func(*storedGroup) {})},
		{"a group key naming two groups", `group:["bad","worse"]`, groupJSON(func(*storedGroup) {})},
		{"a group key naming the empty group", `group:[""]`, groupJSON(func(*storedGroup) {})},
		{"a group key that is a number", `group:[5]`, groupJSON(func(*storedGroup) {})},
		// offset records: the value
		{"a truncated offset", badOffset, validOffset[:20]},
		{"an offset that is a string", badOffset, `{"offset":"42","leader_epoch":-1}`},
		{"a leader epoch beyond 32 bits", badOffset, `{"offset":42,"leader_epoch":4294967296}`},
		{"metadata that is a number", badOffset, `{"offset":42,"leader_epoch":-1,"metadata":7}`},
		{"metadata longer than a commit may have", badOffset, `{"offset":42,"leader_epoch":-1,"metadata":"` + strings.Repeat("x", 4097) + `"}`},
		{"bytes after the offset", badOffset, validOffset + "}"},
		// offset records: the key
		{"an offset key that is not JSON", `offset:["bad","t",`, validOffset},
		{"an offset key with two elements", `offset:["bad","t"]`, validOffset},
		{"an offset key with four elements", `offset:["bad","t",0,1]`, validOffset},
		{"an offset key whose group is a number", `offset:[1,"t",0]`, validOffset},
		{"an offset key naming the empty group", `offset:["","t",0]`, validOffset},
		{"an offset key whose topic is a number", `offset:["bad",1,0]`, validOffset},
		{"an offset key naming no legal topic", `offset:["bad","a/b",0]`, validOffset},
		{"an offset key whose partition is a string", `offset:["bad","t","0"]`, validOffset},
		{"an offset key whose partition is a fraction", `offset:["bad","t",0.5]`, validOffset},
		{"an offset key with a negative partition", `offset:["bad","t",-1]`, validOffset},
		{"an offset key with a partition beyond 32 bits", `offset:["bad","t",4294967296]`, validOffset},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := NewMemoryStore()
			st.kv[groupKey("good")] = []byte(groupJSON(func(*storedGroup) {}))
			st.kv[offsetKey("good", "t", 1)] = []byte(validOffset)
			st.kv[tc.key] = []byte(tc.value)
			var c *Coordinator
			if !within(t, 5*time.Second, "restoring the state", func() {
				c = newCoordinator(Config{MinSessionTimeout: 10 * time.Millisecond, MaxMembers: 4,
					Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}.withDefaults(), st)
			}) {
				return
			}
			t.Cleanup(c.Close)
			if got := groupIDs(c); !slices.Equal(got, []string{"good"}) {
				t.Fatalf("restored groups %v; want only the valid one", got)
			}
			if s := c.Describe("good"); s.State != Stable || len(s.Members) != 2 {
				t.Fatalf("the valid group restored as %+v", s)
			}
			if got := c.Fetch("good", map[string][]int32{"t": {1}}); got[0].Offset != 42 {
				t.Fatalf("the valid offset restored as %+v", got[0])
			}
		})
	}
}
