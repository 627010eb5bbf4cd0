package report

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/kop-conformance/kop-conformance/conformance/evidence"
)

// withWire adds a wire-versions entry as the suite records it (AddReportEntry of evidence.Wire).
func withWire(sr types.SpecReport, clients map[string]map[int16][]int16) types.SpecReport {
	sr.ReportEntries = append(sr.ReportEntries, types.ReportEntry{Name: evidence.WireEntry, Value: types.WrapEntryValue(evidence.Wire{Clients: clients})})
	return sr
}

func TestWireVersionsPerCell(t *testing.T) {
	unreadable := spec(types.SpecStatePassed, "client:sarama", "level:1.0", "feature:fetch")
	unreadable.ReportEntries = types.ReportEntries{{Name: evidence.WireEntry, Value: types.WrapEntryValue("not a Wire")}}
	p := writeReport(t,
		// Two specs of one cell, one failed: their versions are united, sorted, distinct; the
		// other client in the entry is not this spec's and is left out.
		withWire(spec(types.SpecStatePassed, "client:franz-go", "level:1.0", "feature:produce"),
			map[string]map[int16][]int16{"franz-go": {0: {3, 2}, 1: {4}}, "sarama": {0: {9}}}),
		withWire(spec(types.SpecStateFailed, "client:franz-go", "level:1.0", "feature:produce"),
			map[string]map[int16][]int16{"franz-go": {0: {2, 3, 5}, 99: {1}}}),
		// A mixed group: each client's cell takes its own versions.
		withWire(spec(types.SpecStatePassed, "client:franz-go", "client:sarama", "client:kafka-go", "level:1.0", "feature:mixed-group"),
			map[string]map[int16][]int16{"franz-go": {11: {2}}, "sarama": {11: {1}}, "kafka-go": {11: {0, 1}}}),
		unreadable,
		// A spec for a cell the reference does not serve is ignored, its wire too.
		withWire(spec(types.SpecStatePassed, "client:franz-go", "level:1.0", "feature:transactions"),
			map[string]map[int16][]int16{"franz-go": {22: {1}}}),
	)
	m, err := Build([]Input{{Target: "reference", Path: p}}, []string{"1.0"}, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		feature, client string
		status          string
		want            map[string][]int16
	}{
		{"produce", "franz-go", Fail, map[string][]int16{"Produce": {2, 3, 5}, "Fetch": {4}, "key 99": {1}}},
		{"mixed-group", "franz-go", Pass, map[string][]int16{"JoinGroup": {2}}},
		{"mixed-group", "sarama", Pass, map[string][]int16{"JoinGroup": {1}}},
		{"mixed-group", "kafka-go", Pass, map[string][]int16{"JoinGroup": {0, 1}}},
		{"fetch", "sarama", Pass, nil}, // unreadable evidence: no wire, verdict kept
		{"transactions", "franz-go", NotServed, nil},
		{"offsets", "franz-go", NotRun, nil},
	}
	for _, c := range cases {
		got := m.find("reference", c.feature, c.client, "1.0")
		if got.Status != c.status || !reflect.DeepEqual(got.WireVersions, c.want) {
			t.Errorf("%s/%s: status %s wire %v, want %s %v", c.feature, c.client, got.Status, got.WireVersions, c.status, c.want)
		}
	}
}

func TestWireTableShowsHighestVersionPerClientAndLevel(t *testing.T) {
	sent := func(client, level, feature string, apis map[int16][]int16) types.SpecReport {
		return withWire(spec(types.SpecStatePassed, "client:"+client, "level:"+level, "feature:"+feature), map[string]map[int16][]int16{client: apis})
	}
	cases := []struct {
		name      string
		specs     []types.SpecReport
		want, not []string
		levels    []string
	}{
		{
			name: "highest over the cells of a client and level",
			specs: []types.SpecReport{
				sent("franz-go", "2.0", "produce", map[int16][]int16{0: {5, 6}, 1: {7, 8}}),
				sent("franz-go", "2.0", "groups", map[int16][]int16{11: {3}, 8: {4}, 1: {10}}),
				sent("sarama", "2.0", "offsets", map[int16][]int16{2: {1}, 3: {5}}),
			},
			levels: []string{"1.0", "2.0"},
			want: []string{
				"| client | level | Produce | Fetch | ListOffsets | Metadata | JoinGroup | OffsetCommit |",
				"| franz-go | 2.0 | v6 | v10 | – | – | v3 | v4 |",
				"| sarama | 2.0 | – | – | v1 | v5 | – | – |",
				"the highest version of each API the client actually sent at that level",
			},
			not: []string{"| franz-go | 1.0 |", "| kafka-go | 2.0 |"}, // nothing ran there
		},
		{
			name: "a client and level that ran without evidence shows dashes",
			specs: []types.SpecReport{
				sent("franz-go", "2.0", "produce", map[int16][]int16{0: {5}}),
				spec(types.SpecStateFailed, "client:sarama", "level:2.0", "feature:produce"),
			},
			levels: []string{"2.0"},
			want:   []string{"| franz-go | 2.0 | v5 | – |", "| sarama | 2.0 | – | – | – | – | – | – |"},
		},
		{
			name:   "a run without evidence says so instead of a table of dashes",
			specs:  []types.SpecReport{spec(types.SpecStatePassed, "client:sarama", "level:2.0", "feature:produce")},
			levels: []string{"2.0"},
			want:   []string{"## Wire versions", "No spec of this run recorded wire versions."},
			not:    []string{"| client | level | Produce |"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Build([]Input{{Target: "reference", Path: writeReport(t, c.specs...)}}, c.levels, time.Unix(0, 0))
			if err != nil {
				t.Fatal(err)
			}
			var md bytes.Buffer
			if err := Markdown(&md, m); err != nil {
				t.Fatal(err)
			}
			low := strings.ToLower(md.String())
			for _, w := range c.want {
				if !strings.Contains(low, strings.ToLower(w)) {
					t.Errorf("markdown lacks %q:\n%s", w, md.String())
				}
			}
			for _, w := range c.not {
				if strings.Contains(md.String(), w) {
					t.Errorf("markdown has %q", w)
				}
			}
		})
	}
}
