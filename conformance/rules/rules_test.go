package rules

import "testing"

func TestApplies(t *testing.T) {
	ref := Target{Name: "reference", LevelListeners: true, Controllable: true}
	ext := Target{Name: "external"}
	cases := []struct {
		feature, client, level string
		t                      Target
		want                   bool
	}{
		{"produce", "kafka-go", "1.0", ref, true},
		{"produce", "kafka-go", "1.0", ext, false},
		{"produce", "kafka-go", "1.0", TargetNamed("kafka"), true},
		{"durability", "sarama", "1.0", TargetNamed("kafka"), true},
		{"produce", "sarama", "1.0", ext, true},
		{"durability", "franz-go", "2.6", ext, false},
		{"durability", "franz-go", "2.6", ref, true},
		{"nope", "franz-go", "2.6", ref, false},
		{"offset-reset", "kafka-go", "2.6", ref, false},
		{"offset-reset", "sarama", "2.6", ref, true},
		{"group-admin", "sarama", "1.0", ref, false},
		{"group-admin", "sarama", "1.1", ref, true},
	}
	for _, c := range cases {
		got, why := Applies(c.feature, c.client, c.level, c.t)
		if got != c.want || (!got && why == "") {
			t.Errorf("Applies(%s,%s,%s,%s) = %v %q, want %v with a reason when false", c.feature, c.client, c.level, c.t.Name, got, why, c.want)
		}
	}
}
