package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// The charts are plain SVG written here, so the report needs no plotting library and renders
// on GitHub, in a browser and in the HTML page alike.

// colors of the paths, and of any other series in order.
var pathColor = map[string]string{Gateway: "#0969da", Pulsar: "#1a7f37", Kafka: "#8250df"}
var otherColors = []string{"#bf3989", "#9a6700", "#57606a"}

func seriesColor(name string, i int) string {
	if c, ok := pathColor[name]; ok {
		return c
	}
	return otherColors[i%len(otherColors)]
}

// Bar is one bar: a median with its min and max (a whisker); Missing draws no bar.
type Bar struct {
	Series          string
	Value, Low, Hi  float64
	Missing         bool
	ValueLabelExtra string // appended to the value's label, e.g. " (from max-1KiB-p1)"
}

// BarGroup is one row of bars (a workload, or a percentile).
type BarGroup struct {
	Label string
	Bars  []Bar
}

// BarChart is a horizontal grouped bar chart.
type BarChart struct {
	Title, Unit string
	Series      []string // the legend, in bar order
	Groups      []BarGroup
	Log         bool // a log axis (latency percentiles span decades)
}

const (
	chartWidth  = 820
	labelWidth  = 230
	plotRight   = 90 // room for the value labels
	barHeight   = 13
	barGap      = 2
	groupGap    = 12
	headerSpace = 52
	axisSpace   = 30
)

// esc escapes text for SVG.
func esc(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// Num formats a figure with three significant digits or so: 0.123, 4.56, 78.9, 1234.
func Num(v float64) string {
	a := math.Abs(v)
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "–"
	case a >= 1000:
		return thousands(int64(math.Round(v)))
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 0.1 || a == 0:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// tick labels an axis value without trailing zeros: 0, 40, 2.5, 1,000.
func tick(v float64) string {
	if math.Abs(v) >= 1000 {
		return thousands(int64(math.Round(v)))
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// axis maps values onto [x0, x1].
type axis struct {
	log      bool
	min, max float64 // the domain (for a log axis, powers of ten)
	x0, x1   float64
}

func newAxis(values []float64, log bool, x0, x1 float64) axis {
	hi, lo := 0.0, math.Inf(1)
	for _, v := range values {
		if v > hi {
			hi = v
		}
		if v > 0 && v < lo {
			lo = v
		}
	}
	if log {
		if math.IsInf(lo, 1) {
			lo, hi = 1, 10
		}
		return axis{log: true, min: math.Pow(10, math.Floor(math.Log10(lo))), max: math.Pow(10, math.Ceil(math.Log10(hi*1.0001))), x0: x0, x1: x1}
	}
	if hi <= 0 {
		hi = 1
	}
	return axis{min: 0, max: niceCeil(hi * 1.05), x0: x0, x1: x1}
}

// niceCeil is the smallest 1, 2 or 5 times a power of ten at or above v.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func (a axis) at(v float64) float64 {
	if a.log {
		if v <= a.min {
			return a.x0
		}
		return a.x0 + (math.Log10(v)-math.Log10(a.min))/(math.Log10(a.max)-math.Log10(a.min))*(a.x1-a.x0)
	}
	return a.x0 + (v-a.min)/(a.max-a.min)*(a.x1-a.x0)
}

// ticks are the axis' labelled values: powers of ten, or five even steps.
func (a axis) ticks() []float64 {
	var out []float64
	if a.log {
		for v := a.min; v <= a.max*1.0001; v *= 10 {
			out = append(out, v)
		}
		return out
	}
	for i := 0; i <= 5; i++ {
		out = append(out, a.min+(a.max-a.min)*float64(i)/5)
	}
	return out
}

// legend draws the series' swatches on one line at y.
func legend(b *strings.Builder, series []string, x, y float64) {
	for i, s := range series {
		fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="12" height="12" fill="%s"/><text x="%.1f" y="%.1f">%s</text>`+"\n",
			x, y-10, seriesColor(s, i), x+16, y, esc(s))
		x += 30 + 7*float64(len(s))
	}
}

// SVG renders the chart.
func (c BarChart) SVG(w io.Writer) error {
	rows := 0
	var values []float64
	for _, g := range c.Groups {
		rows += len(g.Bars)
		for _, b := range g.Bars {
			if !b.Missing {
				values = append(values, b.Value, b.Hi)
			}
		}
	}
	height := headerSpace + rows*(barHeight+barGap) + len(c.Groups)*groupGap + axisSpace
	ax := newAxis(values, c.Log, labelWidth, chartWidth-plotRight)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif" font-size="11" role="img" aria-label="%s">`+"\n",
		chartWidth, height, chartWidth, height, esc(c.Title))
	fmt.Fprintf(&b, "<title>%s</title>\n", esc(c.Title))
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`+"\n", chartWidth, height)
	fmt.Fprintf(&b, `<text x="10" y="18" font-size="14" font-weight="600">%s</text>`+"\n", esc(c.Title))
	legend(&b, c.Series, labelWidth, 38)
	top, bottom := float64(headerSpace), float64(height-axisSpace)
	for _, t := range ax.ticks() {
		x := ax.at(t)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#d0d7de"/><text x="%.1f" y="%.1f" text-anchor="middle" fill="#57606a">%s</text>`+"\n",
			x, top-4, x, bottom, x, bottom+14, tick(t))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" fill="#57606a">%s</text>`+"\n", chartWidth-10, height-4, esc(c.Unit))
	y := top
	for _, g := range c.Groups {
		gh := float64(len(g.Bars)*(barHeight+barGap) - barGap)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", labelWidth-8, y+gh/2, esc(g.Label))
		for i, bar := range g.Bars {
			color := seriesColor(bar.Series, indexOf(c.Series, bar.Series, i))
			mid := y + barHeight/2
			if bar.Missing {
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" dominant-baseline="middle" fill="#8c959f">%s: not measured</text>`+"\n", ax.x0+4, mid, esc(bar.Series))
			} else {
				x1 := ax.at(bar.Value)
				fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%d" fill="%s"><title>%s: %s %s</title></rect>`+"\n",
					ax.x0, y, math.Max(x1-ax.x0, 1), barHeight, color, esc(bar.Series), Num(bar.Value), esc(c.Unit))
				end := x1
				if bar.Hi > bar.Low && bar.Hi > 0 {
					lo, hi := ax.at(math.Max(bar.Low, ax.min)), ax.at(bar.Hi)
					fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#24292f"/><line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#24292f"/><line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#24292f"/>`+"\n",
						lo, mid, hi, mid, lo, mid-3, lo, mid+3, hi, mid-3, hi, mid+3)
					end = math.Max(end, hi)
				}
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" dominant-baseline="middle">%s%s</text>`+"\n", end+4, mid, Num(bar.Value), esc(bar.ValueLabelExtra))
			}
			y += barHeight + barGap
		}
		y += groupGap
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func indexOf(list []string, s string, fallback int) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return fallback
}

// LineChart is one line per series over categorical x values (the points of a cost-growth
// series, equally spaced whatever their values).
type LineChart struct {
	Title, Unit, XTitle string
	X                   []string
	Series              []Line
}

// Line is a series' values at each x; nil where it was not measured.
type Line struct {
	Name   string
	Values []*float64
}

// SVG renders the chart.
func (c LineChart) SVG(w io.Writer) error {
	const height, left, right, top, bottom = 320, 70, 30, 60, 50
	var values []float64
	for _, s := range c.Series {
		for _, v := range s.Values {
			if v != nil {
				values = append(values, *v)
			}
		}
	}
	ax := newAxis(values, false, 0, 1)
	plotH := float64(height - top - bottom)
	yAt := func(v float64) float64 { return float64(height-bottom) - ax.at(v)*plotH }
	xAt := func(i int) float64 {
		if len(c.X) <= 1 {
			return float64(left+chartWidth-right) / 2
		}
		return float64(left) + float64(i)*float64(chartWidth-left-right)/float64(len(c.X)-1)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif" font-size="11" role="img" aria-label="%s">`+"\n",
		chartWidth, height, chartWidth, height, esc(c.Title))
	fmt.Fprintf(&b, "<title>%s</title>\n", esc(c.Title))
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`+"\n", chartWidth, height)
	fmt.Fprintf(&b, `<text x="10" y="18" font-size="14" font-weight="600">%s</text>`+"\n", esc(c.Title))
	var names []string
	for _, s := range c.Series {
		names = append(names, s.Name)
	}
	legend(&b, names, left, 40)
	for _, t := range ax.ticks() {
		y := yAt(t)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#d0d7de"/><text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle" fill="#57606a">%s</text>`+"\n",
			left, y, chartWidth-right, y, left-6, y, tick(t))
	}
	fmt.Fprintf(&b, `<text x="12" y="%d" fill="#57606a">%s</text>`+"\n", top-6, esc(c.Unit))
	for i, x := range c.X {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#57606a">%s</text>`+"\n", xAt(i), height-bottom+16, esc(x))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" fill="#57606a">%s</text>`+"\n", (left+chartWidth-right)/2, height-10, esc(c.XTitle))
	for si, s := range c.Series {
		color := seriesColor(s.Name, si)
		var pts []string
		for i, v := range s.Values {
			if v == nil || i >= len(c.X) {
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", xAt(i), yAt(*v)))
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>%s at %s: %s %s</title></circle>`+"\n",
				xAt(i), yAt(*v), color, esc(s.Name), esc(c.X[i]), Num(*v), esc(c.Unit))
		}
		if len(pts) > 1 {
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(pts, " "), color)
		}
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
