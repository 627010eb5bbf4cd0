package auth

import (
	"context"
	"errors"
	"testing"
	"time"
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
	m.AddUser("temp", "pw", "temp-role")
	in := time.Now().Add(time.Hour)
	m.Expire("temp", in)
	if p, err := m.Authenticate(ctx, "temp", "pw"); err != nil || !p.Expires.Equal(in) {
		t.Fatalf("expiring credentials: %+v %v", p, err)
	}
	m.Expire("temp", time.Now().Add(-time.Second))
	if _, err := m.Authenticate(ctx, "temp", "pw"); !errors.Is(err, ErrCredentials) {
		t.Fatalf("expired credentials: %v, want ErrCredentials", err)
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
	m.GrantSubscription("private", "ops")
	for _, gc := range []struct {
		role, group string
		want        bool
	}{{"ops", "any", true}, {"ops", "private", true}, {"alice-role", "any", false}, {"admin", "private", false}} {
		if gc.role == "admin" {
			m.Grant("admin", "", Consume) // consume on the namespace, but not listed
		}
		if got, err := m.GroupAllowed(ctx, gc.role, gc.group); err != nil || got != gc.want {
			t.Errorf("group %q as %s: %v %v, want %v", gc.group, gc.role, got, err, gc.want)
		}
	}
	m.Fail(errors.New("down"))
	if _, err := m.GroupAllowed(ctx, "ops", "any"); err == nil {
		t.Error("a failing authorizer must report the error, not a denial")
	}
	if _, err := m.Allowed(ctx, "ops", Consume, ""); err == nil {
		t.Error("a failing authorizer must report the error, not a denial")
	}
}
