package storage

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kop-conformance/kop-conformance/reference/internal/partition"
)

func TestLogStartKeys(t *testing.T) {
	cases := []struct {
		tp partition.TP
	}{
		{tp("t", 0)},
		{tp("t-partition-3", 7)},
		{tp("a.b_c", 2147483647)},
		{tp(strings.Repeat("x", 249), 1)},
	}
	for _, tc := range cases {
		k := logStartKey(tc.tp)
		got, ok := parseLogStartKey(k)
		if !ok || got != tc.tp {
			t.Errorf("parse(%q) = %v, %v; want %v", k, got, ok, tc.tp)
		}
	}
	for _, k := range []string{"", "sync", "/0", "t/", "t/-1", "t/x", "t/99999999999"} {
		if tp, ok := parseLogStartKey(k); ok {
			t.Errorf("parse(%q) = %v, want rejected", k, tp)
		}
	}
}

func TestLogStartTable(t *testing.T) {
	type msg struct {
		key   string
		value string
	}
	cases := []struct {
		name string
		msgs []msg
		want map[partition.TP]int64
	}{
		{"empty", nil, map[partition.TP]int64{tp("t", 0): 0}},
		{"one", []msg{{"t/0", "5"}}, map[partition.TP]int64{tp("t", 0): 5, tp("t", 1): 0, tp("u", 0): 0}},
		{"grows", []msg{{"t/0", "5"}, {"t/0", "9"}}, map[partition.TP]int64{tp("t", 0): 9}},
		// Two DeleteRecords racing (here or on two gateways) land in either order: the larger wins.
		{"never shrinks", []msg{{"t/0", "9"}, {"t/0", "5"}}, map[partition.TP]int64{tp("t", 0): 9}},
		{"deleted topic", []msg{{"t/0", "9"}, {"t/1", "3"}, {"t/0", ""}, {"t/1", ""}}, map[partition.TP]int64{tp("t", 0): 0, tp("t", 1): 0}},
		{"re-created topic starts over", []msg{{"t/0", "9"}, {"t/0", ""}, {"t/0", "2"}}, map[partition.TP]int64{tp("t", 0): 2}},
		{"names with -partition- are just names", []msg{{"t-partition-3/0", "4"}, {"t/3", "8"}}, map[partition.TP]int64{tp("t-partition-3", 0): 4, tp("t", 3): 8}},
		{"garbage is skipped", []msg{{"t/0", "x"}, {"t/0", "-3"}, {"sync", "2024"}, {"nokey", "4"}}, map[partition.TP]int64{tp("t", 0): 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tab := newLogStartTable()
			for i, m := range tc.msgs {
				tab.apply(m.key, []byte(m.value), position{1, int64(i), 0})
			}
			for tp, want := range tc.want {
				if got := tab.get(tp); got != want {
					t.Errorf("%v: %d, want %d", tp, got, want)
				}
			}
		})
	}
}

func TestLogStartTablePartitions(t *testing.T) {
	tab := newLogStartTable()
	tab.apply("t/0", []byte("1"), position{1, 0, 0})
	tab.apply("t/2", []byte("1"), position{1, 1, 0})
	tab.apply("u/0", []byte("1"), position{1, 2, 0})
	if got := len(tab.partitions("t")); got != 2 {
		t.Fatalf("partitions of t: %d, want 2", got)
	}
	tab.apply("t/0", nil, position{1, 3, 0})
	tab.apply("t/2", nil, position{1, 4, 0})
	if got := tab.partitions("t"); len(got) != 0 {
		t.Fatalf("partitions of deleted t: %v", got)
	}
	if got := len(tab.partitions("u")); got != 1 {
		t.Fatalf("partitions of u: %d, want 1", got)
	}
}

// A write returns only once the reader applied it (or anything after it).
func TestLogStartTableWaitSeen(t *testing.T) {
	tab := newLogStartTable()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := tab.waitSeen(ctx, position{}); err == nil {
		t.Fatal("nothing applied yet, but waitSeen returned")
	}
	done := make(chan error, 1)
	go func() { done <- tab.waitSeen(context.Background(), position{3, 7, 0}) }()
	tab.apply("t/0", []byte("1"), position{3, 6, 0})
	select {
	case err := <-done:
		t.Fatalf("returned before the position was applied: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	tab.apply("t/0", []byte("2"), position{4, 0, 0}) // a later ledger passes it too
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Second):
		t.Fatal("waitSeen did not return after a later position was applied")
	}
	// Positions already passed return at once.
	if err := tab.waitSeen(context.Background(), position{3, 7, 0}); err != nil {
		t.Fatal(err)
	}
}

func TestPositionOrder(t *testing.T) {
	cases := []struct {
		a, b position
		less bool
	}{
		{position{1, 0, 0}, position{1, 1, 0}, true},
		{position{1, 9, 0}, position{2, 0, 0}, true},
		{position{1, 1, 0}, position{1, 1, 1}, true},
		{position{1, 1, 1}, position{1, 1, 1}, false},
		{position{2, 0, 0}, position{1, 9, 9}, false},
	}
	for _, tc := range cases {
		if got := tc.a.less(tc.b); got != tc.less {
			t.Errorf("%v < %v = %v, want %v", tc.a, tc.b, got, tc.less)
		}
	}
}

func TestLogStartOf(t *testing.T) {
	cases := []struct {
		name                  string
		first, deletedTo, hwm int64
		want                  int64
	}{
		{"nothing deleted", 0, 0, 10, 0},
		{"deleted", 0, 4, 10, 4},
		{"deleted everything", 0, 10, 10, 10},
		{"retention removed more than DeleteRecords", 7, 4, 10, 7},
		{"empty partition", 0, 0, 0, 0},
		{"stale entry above the high watermark", 0, 50, 10, 10},
	}
	for _, tc := range cases {
		if got := logStartOf(tc.first, tc.deletedTo, tc.hwm); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}

func tp(topic string, p int32) partition.TP { return partition.TP{Topic: topic, Partition: p} }
