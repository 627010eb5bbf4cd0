package report

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Write renders the report into dir: bench.json, bench.md, bench.html and the charts under
// dir/bench/ (whose old SVGs are removed first, so no chart of an earlier run lingers).
func (r *Report) Write(dir string) error {
	chartDir := filepath.Join(dir, ChartDir)
	if err := os.MkdirAll(chartDir, 0o755); err != nil {
		return err
	}
	old, _ := filepath.Glob(filepath.Join(chartDir, "*.svg"))
	for _, f := range old {
		os.Remove(f)
	}
	files := []struct {
		path   string
		render func(io.Writer) error
	}{
		{filepath.Join(dir, "bench.json"), r.JSON},
		{filepath.Join(dir, "bench.md"), r.Markdown},
		{filepath.Join(dir, "bench.html"), r.HTML},
	}
	for _, c := range r.Charts() {
		files = append(files, struct {
			path   string
			render func(io.Writer) error
		}{filepath.Join(chartDir, c.File), c.SVG})
	}
	for _, f := range files {
		if err := writeFile(f.path, f.render); err != nil {
			return err
		}
	}
	return nil
}

// JSON renders bench.json.
func (r *Report) JSON(w io.Writer) error {
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(js, '\n'))
	return err
}

func writeFile(path string, render func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := render(f); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}
