package report

import (
	_ "embed"
	"encoding/json"
	"io"
	"text/template"
)

//go:embed assets/index.html.tmpl
var indexTmpl string

// The page is static: the matrix JSON is embedded and a small script renders and filters it.
// Filters live in the URL fragment (#client=sarama&status=FAIL), so a filtered view can be linked.
var index = template.Must(template.New("index").Parse(indexTmpl))

// HTML renders reports/index.html. json.Marshal escapes <, > and & so the embedded document
// cannot close its script element.
func HTML(w io.Writer, m *Matrix) error {
	js, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return index.Execute(w, string(js))
}
