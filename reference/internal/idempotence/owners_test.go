package idempotence

import "testing"

func TestIDsBelongToTheirPrincipal(t *testing.T) {
	var g IDs
	alice, _ := g.Next("alice")
	anon, _ := g.Next("")
	if o, known := g.Owner(alice); !known || o != "alice" {
		t.Fatalf("owner of alice's id: %q %v", o, known)
	}
	for _, c := range []struct {
		id    int64
		owner string
		want  bool
	}{
		{alice, "alice", true},
		{alice, "mallory", false},
		{alice, "", false}, // an unauthenticated listener is not alice
		{anon, "", true},
		{anon, "alice", false},
	} {
		if got := g.Claim(c.id, c.owner); got != c.want {
			t.Errorf("Claim(%d, %q) = %v, want %v", c.id, c.owner, got, c.want)
		}
	}
}

// An id from before a restart (or another gateway) goes to the first principal that uses it.
func TestUnknownIDsAreBoundToTheirFirstUser(t *testing.T) {
	var g IDs
	if _, known := g.Owner(42); known {
		t.Fatal("42 was never issued")
	}
	if !g.Claim(42, "bob") {
		t.Fatal("bob may use an id this gateway does not know")
	}
	if o, known := g.Owner(42); !known || o != "bob" || !g.Claim(42, "bob") {
		t.Fatalf("42 belongs to %q (known %v), want bob, who keeps using it", o, known)
	}
	if g.Claim(42, "mallory") {
		t.Fatal("mallory may not use bob's id once bob wrote with it")
	}
	g.random = fixedSource(42<<1, 43<<1)
	if id, _ := g.Next("carol"); id != 43 {
		t.Fatalf("a claimed id is never issued again: got %d", id)
	}
}

// The bindings are bounded: the oldest is forgotten first, and a forgotten id is unknown again.
func TestOwnersAreBounded(t *testing.T) {
	var g IDs
	first, _ := g.Next("alice")
	for range remembered {
		g.Next("bob")
	}
	if g.issued.Len() != remembered {
		t.Fatalf("%d ids remembered, want at most %d", g.issued.Len(), remembered)
	}
	if _, known := g.Owner(first); known {
		t.Fatal("the oldest id is still remembered past the bound")
	}
}
