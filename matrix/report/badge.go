package report

import (
	"fmt"
	"io"
	"strings"
)

// Badge renders a flat two-part SVG badge ("label | message"), green when every applicable cell
// that ran passed, red when any failed, grey when nothing ran. Not-served cells are a declared
// gap of the target, not a failure: they leave the colour alone and are counted in the message.
// Text widths are estimated from a fixed per-character width, which is close enough for the
// badge font at 11px.
func Badge(w io.Writer, label string, c Counts) error {
	msg, color := "not run", "#9f9f9f"
	if ran := c.Pass + c.Fail; ran > 0 {
		msg = fmt.Sprintf("%d/%d pass", c.Pass, ran)
		color = "#2ea043"
		if c.Fail > 0 {
			color = "#cf222e"
		}
	}
	if c.NotServed > 0 {
		msg += fmt.Sprintf(" · %d not served", c.NotServed)
	}
	lw, mw := 10+7*len([]rune(label)), 10+7*len([]rune(msg))
	esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
	_, err := fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%[1]d" height="20" role="img" aria-label="%[4]s: %[5]s">
<title>%[4]s: %[5]s</title>
<rect width="%[2]d" height="20" fill="#555"/><rect x="%[2]d" width="%[3]d" height="20" fill="%[6]s"/>
<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11" text-anchor="middle">
<text x="%[7]d" y="14">%[4]s</text><text x="%[8]d" y="14">%[5]s</text>
</g>
</svg>
`, lw+mw, lw, mw, esc.Replace(label), esc.Replace(msg), color, lw/2, lw+mw/2)
	return err
}
