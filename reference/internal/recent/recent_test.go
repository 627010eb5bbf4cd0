package recent

import "testing"

func TestMapKeepsTheNewestKeys(t *testing.T) {
	r := New[int, string](3)
	for i, k := range []int{1, 2, 3} {
		if !r.Add(k, "v") {
			t.Fatalf("key %d (#%d) was not new", k, i)
		}
	}
	if r.Add(2, "other") {
		t.Fatal("a held key was added again")
	}
	if v, _ := r.Get(2); v != "v" {
		t.Fatalf("a held key's value changed to %q", v)
	}
	r.Add(4, "w") // forgets 1, the oldest
	r.Add(5, "x") // forgets 2
	for k, want := range map[int]bool{1: false, 2: false, 3: true, 4: true, 5: true} {
		if _, ok := r.Get(k); ok != want {
			t.Errorf("key %d held = %v, want %v", k, ok, want)
		}
	}
	if r.Len() != 3 {
		t.Fatalf("Len = %d, want 3", r.Len())
	}
}
