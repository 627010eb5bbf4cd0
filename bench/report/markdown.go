package report

import (
	"fmt"
	"io"
	"strings"
)

// Markdown renders bench.md.
func (r *Report) Markdown(w io.Writer) error {
	d := r.Document()
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", d.Title)
	for _, p := range d.Intro {
		b.WriteString(p + "\n\n")
	}
	for _, s := range d.Sections {
		fmt.Fprintf(&b, "%s %s\n\n", strings.Repeat("#", s.Level), s.Heading)
		for _, p := range s.Paragraphs {
			b.WriteString(p + "\n\n")
		}
		for _, im := range s.Images {
			fmt.Fprintf(&b, "![%s](%s)\n\n", mdEscape(im.Alt), im.Src)
		}
		for _, t := range s.Tables {
			mdTable(&b, t)
		}
		for _, item := range s.List {
			fmt.Fprintf(&b, "- %s\n", item)
		}
		if len(s.List) > 0 {
			b.WriteString("\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mdTable(b *strings.Builder, t Table) {
	row := func(cells []string) {
		b.WriteString("|")
		for _, c := range cells {
			b.WriteString(" " + mdEscape(c) + " |")
		}
		b.WriteString("\n")
	}
	row(t.Header)
	b.WriteString(strings.Repeat("|---", len(t.Header)) + "|\n")
	for _, r := range t.Rows {
		row(r)
	}
	b.WriteString("\n")
}

// mdEscape keeps a cell's text from ending the cell or the line.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "[", `\[`, "]", `\]`).Replace(s)
}
