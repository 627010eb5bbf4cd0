package catalog

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

func TestMemory(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(map[string]int32{"a": 2, "__kop_groups": 1})
	steps := []struct {
		name string
		err  error
		want error
	}{
		{"create", m.Create(ctx, "b", 1), nil},
		{"create again", m.Create(ctx, "b", 3), ErrTopicExists},
		{"grow", m.Grow(ctx, "b", 4), nil},
		{"grow an unknown topic", m.Grow(ctx, "c", 4), ErrUnknownTopic},
		{"delete", m.Delete(ctx, "a"), nil},
		{"delete again", m.Delete(ctx, "a"), ErrUnknownTopic},
	}
	for _, s := range steps {
		if !errors.Is(s.err, s.want) {
			t.Errorf("%s: %v, want %v", s.name, s.err, s.want)
		}
	}
	if err := m.Grow(ctx, "b", 2); err == nil {
		t.Error("shrinking must fail")
	}
	if _, err := m.Partitions(ctx, "bad name"); err == nil {
		t.Error("a name Kafka forbids must not be looked up")
	}
	if got, _ := m.Names(ctx); !reflect.DeepEqual(got, []string{"b"}) {
		t.Errorf("list %v: internal topics are not Kafka topics", got)
	}
	down := errors.New("down")
	m.Fail(down)
	if _, err := m.Partitions(ctx, "b"); !errors.Is(err, down) {
		t.Errorf("failing: %v", err)
	}
}
