package server

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/protocol"
)

func TestRegisterRefusesMistakes(t *testing.T) {
	registered := map[int16]handler{kmsg.Produce.Int16(): {min: 3, max: 8, fn: handleProduce}}
	cases := []struct {
		name     string
		key      kmsg.Key
		min, max int16
		want     string // "" accepts
	}{
		{"a new key and a range of its versions", kmsg.Fetch, 4, 11, ""},
		{"a key registered twice", kmsg.Produce, 3, 8, "registered twice"},
		{"a key kmsg does not know", kmsg.Key(999), 0, 0, "unknown API key"},
		{"a negative version", kmsg.Fetch, -1, 4, "not a range"},
		{"an empty range", kmsg.Fetch, 5, 4, "not a range"},
		{"a version kmsg cannot encode", kmsg.Fetch, 4, 99, "not a range"},
	}
	for _, tc := range cases {
		err := checkRegistration(registered, tc.key, tc.min, tc.max)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("registering Produce again must panic")
		}
	}()
	register(kmsg.Produce, 3, 8, handleProduce)
}

// The README's list of APIs served is what the server registers, and each API has its file.
func TestREADMEListsTheAPIsServed(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, list, ok := strings.Cut(string(readme), "APIs served (one file per API in `reference/server`, each documenting its behaviour):")
	list, _, ok2 := strings.Cut(list, " — capped per listener")
	if !ok || !ok2 {
		t.Fatal("the README's list of APIs served is missing")
	}
	names := map[string]int16{}
	for k := range handlers {
		names[strings.ToLower(kmsg.NameForKey(k))] = k
	}
	listed := protocol.Table{}
	for _, m := range regexp.MustCompile(`(\w+) v(\d+)–(\d+)`).FindAllStringSubmatch(list, -1) {
		k, ok := names[strings.ToLower(m[1])]
		if !ok {
			t.Errorf("the README lists %s, which the server does not serve", m[1])
			continue
		}
		lo, _ := strconv.Atoi(m[2])
		hi, _ := strconv.Atoi(m[3])
		listed[k] = protocol.Range{Min: int16(lo), Max: int16(hi)}
	}
	if impl := Implemented(); !reflect.DeepEqual(listed, impl) {
		t.Errorf("the README lists %v\nthe server serves  %v", listed, impl)
	}
	for k := range handlers {
		if files, _ := filepath.Glob(fmt.Sprintf("%02d_*.go", k)); len(files) != 1 {
			t.Errorf("%s (key %d) has files %v, want one", kmsg.NameForKey(k), k, files)
		}
	}
}
