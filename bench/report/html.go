package report

import (
	_ "embed"
	"html/template"
	"io"
)

//go:embed assets/bench.html.tmpl
var pageTmpl string

var page = template.Must(template.New("bench").Parse(pageTmpl))

// HTML renders bench.html: the same document as bench.md, for the published report pages
// (the matrix's index.html links to it).
func (r *Report) HTML(w io.Writer) error {
	return page.Execute(w, r.Document())
}
