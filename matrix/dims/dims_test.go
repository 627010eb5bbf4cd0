package dims

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestLevelsAscendAndHaveTables(t *testing.T) {
	names := Levels()
	if !slices.IsSortedFunc(names, CompareLevels) || len(slices.Compact(slices.Clone(names))) != len(names) {
		t.Fatalf("levels %v are not strictly ascending", names)
	}
	tables := VersionTables()
	for _, n := range names {
		l, ok := LevelNamed(n)
		if !ok || !strings.HasPrefix(l.Release, n+".") || tables[n] == nil {
			t.Errorf("level %s: %+v, table %v", n, l, tables[n] != nil)
			continue
		}
		// Each release's table names itself: kversion guesses the release from the versions.
		if got := l.Versions().VersionGuess(); !strings.Contains(got, "v"+n) {
			t.Errorf("level %s: table guesses %s", n, got)
		}
	}
	if _, ok := LevelNamed("3.0"); ok {
		t.Error("3.0 is not a level of the matrix")
	}
}

func TestCompareLevels(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"2.10", "2.9", 1}, {"1.1", "2.0", -1}, {"2.3", "2.3", 0}, {"2", "2.0", 0}, {"x", "0", 0}} {
		if got := CompareLevels(c.a, c.b); got != c.want {
			t.Errorf("CompareLevels(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
	if !LevelAtLeast("2.10", "2.9") || LevelAtLeast("1.1", "2.0") || !LevelAtLeast("2.3", "2.3") {
		t.Error("levels must compare by their numbers")
	}
}

func TestLabelsRoundTrip(t *testing.T) {
	for _, s := range []Spec{
		{Clients: []string{Sarama}, Level: "2.1", Feature: "groups"},
		{Clients: Clients(), Level: "1.0", Feature: "mixed-group", Nightly: true},
		{Clients: []string{FranzGo}, Level: "2.6", Faults: true, Nightly: true},
		{},
	} {
		got := ParseLabels(s.Labels())
		if fmt.Sprint(got) != fmt.Sprint(s) || got.Placed() != (s.Feature != "") {
			t.Errorf("%v: labels %v parse as %v", s, s.Labels(), got)
		}
	}
	if got := ParseLabels([]string{"client:kafka-go", "other", "owner:x", "level:2.6", "feature:fetch"}); got.Level != "2.6" ||
		got.Feature != "fetch" || fmt.Sprint(got.Clients) != "[kafka-go]" || got.Nightly || got.Faults {
		t.Errorf("other labels must be ignored: %+v", got)
	}
	// Even with a feature label the fault run is no cell.
	if got := ParseLabels([]string{"client:franz-go", "level:2.6", "feature:produce", "faults"}); got.Placed() {
		t.Errorf("the fault run is placed in a cell: %+v", got)
	}
}

func TestCheckFilter(t *testing.T) {
	isFeature := func(f string) bool { return f == "fetch" || f == "groups" }
	for _, c := range []struct {
		filter string
		bad    []string // labels the error must name; none: the filter is fine
	}{
		{"", nil},
		{"(level:1.0 || level:2.0 || level:2.6) && !nightly && (client:sarama && feature:fetch)", nil},
		{"(level:2.6) && !nightly && (faults)", nil},
		{"fault", []string{"fault"}},
		{"Feature:Fetch, CLIENT:kafka-go", nil},
		{"feature: containsAny {fetch, groups} && client: isEmpty", nil},
		{"/feature:gr.*/ && level: consistsOf 2.6", nil},
		{"feature:grops", []string{"feature:grops"}},
		{"level:2.0 || level:3.0", []string{"level:3.0"}},
		{"client:librdkafka && feature: containsAll {fetch, offset}", []string{"client:librdkafka", "feature:offset"}},
		{"nighty", []string{"nighty"}},
		{"flavour:x", []string{"flavour:x"}},
	} {
		err := CheckFilter(c.filter, isFeature)
		if (err == nil) != (len(c.bad) == 0) {
			t.Errorf("CheckFilter(%q) = %v, want errors for %v", c.filter, err, c.bad)
			continue
		}
		for _, b := range c.bad {
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", b)) {
				t.Errorf("CheckFilter(%q) = %v, want it to name %q", c.filter, err, b)
			}
		}
	}
}
