package report

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/kop-conformance/kop-conformance/conformance/checker"
)

// browser finds headless Chromium: KOP_CHROMIUM, else chromium on PATH. make test installs it.
func browser(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("KOP_CHROMIUM"); p != "" {
		return p
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("no chromium on PATH: make test installs Debian's chromium and runs this test")
	}
	return p
}

func headless(t *testing.T, chromium string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, append([]string{"--headless", "--no-sandbox", "--disable-gpu",
		"--user-data-dir=" + t.TempDir()}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

// TestIndexPageRendersFiltersAndShowsFailures loads the generated page in headless Chromium: the
// script must render the cells, apply the filter from the URL, expand to the failure message and
// the wire versions, show not-served cells with their reason, keep hostile text inert, and paint
// a non-blank page.
func TestIndexPageRendersFiltersAndShowsFailures(t *testing.T) {
	chromium := browser(t)
	failing := spec(types.SpecStateFailed, "client:sarama", "level:1.0", "feature:produce")
	failing.Failure.Message = "offset 7 <script>window.hacked=1</script> expected 5"
	p := writeReport(t,
		withWire(spec(types.SpecStatePassed, "client:franz-go", "level:1.0", "feature:produce"),
			map[string]map[int16][]int16{"franz-go": {0: {2, 3, 5}, 1: {4}}}),
		failing,
		spec(types.SpecStatePassed, "client:kafka-go", "level:1.0", "feature:produce"),
	)
	m, err := Build([]Input{{Target: "reference", Path: p}}, []string{"1.0"}, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	m.Measurements = []Measurement{{Name: "rebalance-join-to-first-record", Target: "reference", Count: 3, MinMs: 100, MedianMs: 250, MaxMs: 900}}
	m.Faults = []FaultRun{
		{Target: "reference", Spec: "faults gate", Status: Pass, Run: "gate",
			Summary: &checker.Summary{Acknowledged: 12000, Resumed: true, Faults: map[string]int{"kill-server": 1, "unload-bundle": 1}}},
		{Target: "kafka", Spec: "faults nightly", Status: Fail, Run: "nightly", Failure: "failed: 2 lost <b>x</b>", Error: "pause-storage: not recovered",
			Summary:       &checker.Summary{Acknowledged: 300, Lost: 2, Faults: map[string]int{"kill-server": 3}},
			Violations:    []string{"lost: p1-000017 (p1) was acknowledged at 2/9 and is not in the final read"},
			NotApplicable: map[string]string{"unload-bundle": "namespace bundles are Pulsar's"}},
		{Target: "kafka", Spec: "faults timed out", Status: Fail, Failure: "timedout: A spec timeout occurred"},
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "index.html")
	var buf bytes.Buffer
	if err := HTML(&buf, m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	dom := string(headless(t, chromium, "--dump-dom", "file://"+page+"#status=FAIL"))
	rows := regexp.MustCompile(`<tr data-status="([^"]+)" data-client="([^"]+)"`).FindAllStringSubmatch(dom, -1)
	if len(rows) != 1 || rows[0][1] != Fail || rows[0][2] != "sarama" {
		t.Fatalf("filtered on status=FAIL, rendered rows %v", rows)
	}
	if !strings.Contains(dom, `<pre class="failure">offset 7 &lt;script&gt;window.hacked=1&lt;/script&gt; expected 5`) {
		t.Fatalf("the failure message is not in the expandable details as inert text:\n%s", dom)
	}
	if !strings.Contains(dom, "<td>rebalance-join-to-first-record</td><td>reference</td><td>3</td><td>250 ms</td><td>100 ms</td><td>900 ms</td>") {
		t.Fatalf("the measurements table is missing or wrong:\n%s", dom)
	}
	dom = string(headless(t, chromium, "--dump-dom", "file://"+page+"#status=NOT+SERVED"))
	statuses := regexp.MustCompile(`<tr data-status="([^"]+)"`).FindAllStringSubmatch(dom, -1)
	if len(statuses) != m.Targets[0].CellCounts.NotServed || len(statuses) == 0 {
		t.Fatalf("filtered on status=NOT SERVED, rendered %d rows, the matrix has %d such cells", len(statuses), m.Targets[0].CellCounts.NotServed)
	}
	for _, s := range statuses {
		if s[1] != NotServed {
			t.Fatalf("filtered on status=NOT SERVED, rendered a %s row", s[1])
		}
	}
	if !strings.Contains(dom, `<td class="NOTSERVED">NOT SERVED</td><td>transactions are not served`) {
		t.Fatalf("a not-served cell does not show its reason:\n%s", dom)
	}
	dom = string(headless(t, chromium, "--dump-dom", "file://"+page))
	if all := regexp.MustCompile(`<tr data-status=`).FindAllString(dom, -1); len(all) != len(m.Cells) {
		t.Fatalf("unfiltered page renders %d rows, the matrix has %d cells", len(all), len(m.Cells))
	}
	if !strings.Contains(dom, `<div class="wire">wire: Fetch v4, Produce v2–v3/v5</div>`) {
		t.Fatalf("the franz-go cell does not show the versions it sent:\n%s", dom)
	}
	for _, want := range []string{
		`<tr data-fault="PASS"><td>reference</td><td>gate</td><td title="">kill-server ×1, unload-bundle ×1</td><td>12000</td><td>0</td><td>0</td><td>0</td><td>0</td><td>yes</td><td class="PASS">PASS</td></tr>`,
		`<tr data-fault="FAIL"><td>kafka</td><td>nightly</td><td title="unload-bundle: namespace bundles are Pulsar's">kill-server ×3 (N/A: unload-bundle)</td><td>300</td><td>2</td><td>0</td><td>0</td><td>0</td><td>no</td>`,
		`<pre class="failure">failed: 2 lost &lt;b&gt;x&lt;/b&gt;
cut short: pause-storage: not recovered
lost: p1-000017 (p1) was acknowledged at 2/9 and is not in the final read</pre>`,
		`<td>kafka</td><td>–</td><td title="">none recorded</td><td>–</td>`,
	} {
		if !strings.Contains(dom, want) {
			t.Fatalf("the faults table lacks %s:\n%s", want, dom)
		}
	}
	if strings.Contains(dom, `<section id="faults" hidden=""`) {
		t.Fatal("the faults table is hidden although the matrix has fault runs")
	}

	shot := filepath.Join(dir, "shot.png")
	headless(t, chromium, "--window-size=1024,768", "--screenshot="+shot, "file://"+page)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1024 || b.Dy() != 768 {
		t.Fatalf("screenshot is %v, want 1024x768", b)
	}
	colors := map[uint32]bool{}
	for y := 0; y < 768; y += 4 {
		for x := 0; x < 1024; x += 4 {
			r, g, b, _ := img.At(x, y).RGBA()
			colors[r>>8<<16|g>>8<<8|b>>8] = true
		}
	}
	if len(colors) < 8 {
		t.Fatalf("screenshot has %d colours: the page did not paint", len(colors))
	}
}

func TestBadgeColoursAndText(t *testing.T) {
	cases := []struct {
		c          Counts
		msg, color string
	}{
		{Counts{Pass: 5}, "5/5 pass", "#2ea043"},
		{Counts{Pass: 4, Fail: 1, NA: 3}, "4/5 pass", "#cf222e"},
		{Counts{NotRun: 2}, "not run", "#9f9f9f"},
		{Counts{Pass: 5, NotServed: 3}, "5/5 pass · 3 not served", "#2ea043"}, // a declared gap is not a failure
		{Counts{Pass: 4, Fail: 1, NotServed: 2}, "4/5 pass · 2 not served", "#cf222e"},
		{Counts{NotServed: 2}, "not run · 2 not served", "#9f9f9f"},
	}
	for _, tc := range cases {
		var b bytes.Buffer
		if err := Badge(&b, "sarama on <ref>", tc.c); err != nil {
			t.Fatal(err)
		}
		s := b.String()
		if !strings.Contains(s, ">"+tc.msg+"<") || !strings.Contains(s, tc.color) || !strings.Contains(s, "sarama on &lt;ref&gt;") {
			t.Errorf("badge for %+v:\n%s", tc.c, s)
		}
	}
}
