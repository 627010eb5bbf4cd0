package dims

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// The keys of the labels that carry a spec's cell ("client:sarama", "level:2.1",
// "feature:groups"), and the label of specs that wait on purpose.
const (
	ClientKey  = "client"
	LevelKey   = "level"
	FeatureKey = "feature"
	// Nightly marks specs that wait on purpose (timeouts, long polls): the PR gate leaves them
	// out, the full matrix and the mutation check run them.
	Nightly = "nightly"
	// Faults marks the fault run: it carries a client and a level but is no matrix cell (it
	// fills the report's Faults section instead).
	Faults = "faults"
)

// Spec is what a spec's labels say of it: the cell it is evidence for (a spec that drives
// several clients, a mixed group, counts for each of them), whether it is nightly, and
// whether it is the fault run.
type Spec struct {
	Clients []string
	Level   string
	Feature string
	Nightly bool
	Faults  bool
}

// Labels are the spec's labels, in the order client, level, feature, nightly, faults.
func (s Spec) Labels() []string {
	var out []string
	for _, c := range s.Clients {
		out = append(out, ClientKey+":"+c)
	}
	if s.Level != "" {
		out = append(out, LevelKey+":"+s.Level)
	}
	if s.Feature != "" {
		out = append(out, FeatureKey+":"+s.Feature)
	}
	if s.Nightly {
		out = append(out, Nightly)
	}
	if s.Faults {
		out = append(out, Faults)
	}
	return out
}

// Placed says whether the labels put the spec in cells: a client, a level and a feature, and
// not the fault run.
func (s Spec) Placed() bool {
	return len(s.Clients) > 0 && s.Level != "" && s.Feature != "" && !s.Faults
}

// ParseLabels reads a spec's labels; labels of other keys are ignored.
func ParseLabels(labels []string) Spec {
	var s Spec
	for _, l := range labels {
		switch l {
		case Nightly:
			s.Nightly = true
			continue
		case Faults:
			s.Faults = true
			continue
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		switch k {
		case ClientKey:
			s.Clients = append(s.Clients, v)
		case LevelKey:
			s.Level = v
		case FeatureKey:
			s.Feature = v
		}
	}
	return s
}

// CheckLabel says what is wrong with a label a filter names, or nil: a client, level or
// feature label must name a known one (isFeature says which features are), and a label
// without a key must be Nightly or Faults. A mistyped label would select nothing, silently.
func CheckLabel(label string, isFeature func(string) bool) error {
	if label == Nightly || label == Faults {
		return nil
	}
	k, v, ok := strings.Cut(label, ":")
	if !ok {
		return fmt.Errorf("label %q: the suite's labels are %s:, %s:, %s:, %s and %s", label, ClientKey, LevelKey, FeatureKey, Nightly, Faults)
	}
	switch {
	case k == ClientKey && !IsClient(v):
		return fmt.Errorf("label %q: unknown client (known: %s)", label, strings.Join(Clients(), ", "))
	case k == LevelKey:
		if _, ok := LevelNamed(v); !ok {
			return fmt.Errorf("label %q: unknown level (known: %s)", label, strings.Join(Levels(), ", "))
		}
	case k == FeatureKey && !isFeature(v):
		return fmt.Errorf("label %q: unknown feature", label)
	case k != ClientKey && k != FeatureKey:
		return fmt.Errorf("label %q: unknown key %q (known: %s, %s, %s)", label, k, ClientKey, LevelKey, FeatureKey)
	}
	return nil
}

// CheckFilter checks with CheckLabel every label a Ginkgo label filter names: its plain labels
// and the values of its set operations ("feature: containsAny {fetch, groups}"). Regular
// expressions (/.../) are not checked, nor is the filter's syntax (Ginkgo's
// types.ParseLabelFilter does that).
func CheckFilter(filter string, isFeature func(string) bool) error {
	var errs []error
	for _, l := range filterLabels(filter) {
		if err := CheckLabel(l, isFeature); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

var (
	filterRegexp = regexp.MustCompile(`/[^/]*/`)
	// A set operation: "key: operation", then {values} or one value up to the next operator.
	filterSetOp = regexp.MustCompile(`([^&|!,()/:\s][^&|!,()/:]*):\s+[A-Za-z]+\s*(\{[^}]*\}|[^&|!,()/{]*)`)
)

// filterLabels lists the labels a filter names, lower-cased (Ginkgo compares labels so).
func filterLabels(filter string) []string {
	filter = strings.ToLower(filterRegexp.ReplaceAllString(filter, " "))
	var out []string
	for _, m := range filterSetOp.FindAllStringSubmatch(filter, -1) {
		for _, v := range strings.Split(strings.Trim(m[2], "{} "), ",") {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, strings.TrimSpace(m[1])+":"+v)
			}
		}
	}
	filter = filterSetOp.ReplaceAllString(filter, " ")
	for _, l := range strings.FieldsFunc(filter, func(r rune) bool { return strings.ContainsRune("&|!,()", r) }) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
