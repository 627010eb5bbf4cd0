package clients

import (
	"testing"

	"github.com/IBM/sarama"

	"github.com/kop-conformance/kop-conformance/matrix/dims"
)

// TestKindsAreTheMatrixClients: every client of the matrix has an adapter, and no adapter is
// left out of the matrix.
func TestKindsAreTheMatrixClients(t *testing.T) {
	if len(adapters) != len(dims.Clients()) {
		t.Errorf("%d adapters for %d clients", len(adapters), len(dims.Clients()))
	}
	for i, name := range dims.Clients() {
		if Kinds[i].Name != name || Kinds[i].New == nil {
			t.Errorf("kind %d is %q (New set: %v), want %s", i, Kinds[i].Name, Kinds[i].New != nil, name)
		}
		if k, ok := KindNamed(name); !ok || k.Name != name {
			t.Errorf("KindNamed(%s) = %q, %v", name, k.Name, ok)
		}
	}
}

// TestSaramaPinnedToEachLevel: sarama's Config.Version at a level is that level's release,
// one sarama knows.
func TestSaramaPinnedToEachLevel(t *testing.T) {
	for _, level := range dims.Levels() {
		v, err := saramaVersion(level)
		if err != nil {
			t.Errorf("level %s: %v", level, err)
			continue
		}
		lv, _ := dims.LevelNamed(level)
		known := false
		for _, s := range sarama.SupportedVersions {
			known = known || s == v
		}
		if v.String() != lv.Release || !known {
			t.Errorf("level %s: sarama version %s (supported: %v), want %s", level, v, known, lv.Release)
		}
	}
	if _, err := saramaVersion("3.0"); err == nil {
		t.Error("an unknown level must be refused")
	}
}
