package report

import (
	_ "embed"
	"encoding/json"
	"html/template"
	"io"
)

//go:embed assets/index.html.tmpl
var indexTmpl string

// The page is static: the matrix JSON is embedded and a small script renders and filters it.
// Filters live in the URL fragment (#client=sarama&status=FAIL), so a filtered view can be linked.
var index = template.Must(template.New("index").Parse(indexTmpl))

// Link is a page published beside the matrix (the benchmark's bench.html), shown at the top.
type Link struct{ Href, Text string }

// HTML renders reports/index.html, with links to the pages beside it. The matrix goes into a
// <script type="application/json"> element, which html/template treats as script: a string
// would be re-escaped into a JS string literal, so the document is passed as template.JS.
// That is safe because json.Marshal escapes <, > and & (and U+2028/U+2029), so the text
// cannot close its script element.
func HTML(w io.Writer, m *Matrix, links ...Link) error {
	js, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return index.Execute(w, struct {
		Data  template.JS
		Links []Link
	}{template.JS(js), links})
}
