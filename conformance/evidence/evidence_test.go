package evidence

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/kop-conformance/kop-conformance/conformance/checker"
)

// roundTrip passes a value through a report entry the way it reaches the matrix tool: wrapped
// by AddReportEntry, written into the JSON report, read back, decoded from the entry's JSON.
func roundTrip[T any](t *testing.T, name string, v T) T {
	t.Helper()
	data, err := json.Marshal(types.ReportEntry{Name: name, Value: types.WrapEntryValue(v)})
	if err != nil {
		t.Fatal(err)
	}
	var e types.ReportEntry
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatal(err)
	}
	var out T
	if err := json.Unmarshal([]byte(e.Value.AsJSON), &out); err != nil {
		t.Fatalf("%s: %v in %s", name, err, e.Value.AsJSON)
	}
	return out
}

func TestEntriesSurviveTheReport(t *testing.T) {
	run := FaultRun{Target: "reference", Run: "nightly", Rounds: 3, DurationSec: 412.5, Error: "restart-pulsar (round 2): not recovered",
		Violations: []string{"lost: p1-000017 (p1) was acknowledged at 2/9 and is not in the final read"},
		Summary: checker.Summary{Sent: 60000, Acknowledged: 59000, Indeterminate: 1000, Read: 59400, Polled: 61000, Lost: 1, Duplicated: 2,
			Misplaced: 3, OrderViolations: 4, OffsetConflicts: 5, CommitRegressions: 6, Unconsumed: 7, Unknown: 8, FailedPresent: 9,
			IndeterminatePresent: 400, Resumed: true, Faults: map[string]int{"kill-server": 3, "unload-bundle": 3}}}
	if got := roundTrip(t, FaultsEntry, run); !reflect.DeepEqual(got, run) {
		t.Errorf("fault run came back as\n%+v\nwant\n%+v", got, run)
	}
	wire := Wire{Clients: map[string]map[int16][]int16{"franz-go": {0: {3, 8}, 1: {11}}}}
	if got := roundTrip(t, WireEntry, wire); !reflect.DeepEqual(got, wire) {
		t.Errorf("wire came back as %+v", got)
	}
}
