package auth

import (
	"context"
	"errors"
	"testing"
)

func TestMemory(t *testing.T) {
	ctx := context.Background()
	m := NewMemory()
	m.AddUser("alice", "secret", "alice-role")
	m.Grant("alice-role", "t", Produce)
	m.Grant("ops", "", Consume)
	if p, err := m.Authenticate(ctx, "alice", "secret"); err != nil || p.Role != "alice-role" {
		t.Fatalf("good password: %v %v", p, err)
	}
	for _, bad := range [][2]string{{"alice", "wrong"}, {"bob", "secret"}} {
		if _, err := m.Authenticate(ctx, bad[0], bad[1]); !errors.Is(err, ErrCredentials) {
			t.Errorf("%v: %v, want ErrCredentials", bad, err)
		}
	}
	cases := []struct {
		role   string
		action Action
		topic  string
		want   bool
	}{
		{"alice-role", Produce, "t", true},
		{"alice-role", Consume, "t", false},
		{"alice-role", Produce, "u", false},
		{"alice-role", Produce, "", false},
		{"ops", Consume, "any", true}, // namespace grants apply to every topic
		{"ops", Consume, "", true},
		{"ops", Consume, "bad name", true},
		{"nobody", Consume, "t", false},
	}
	for _, tc := range cases {
		if got, err := m.Allowed(ctx, tc.role, tc.action, tc.topic); err != nil || got != tc.want {
			t.Errorf("%s %s %q: %v %v, want %v", tc.role, tc.action, tc.topic, got, err, tc.want)
		}
	}
	m.Fail(errors.New("down"))
	if _, err := m.Allowed(ctx, "ops", Consume, ""); err == nil {
		t.Error("a failing authorizer must report the error, not a denial")
	}
}
