package metrics

import (
	"bytes"
	_ "embed"
	"fmt"
	"strings"
	"text/template"
)

//go:embed metrics.md.tmpl
var docTemplate string

// Doc renders docs/metrics.md: the prose of metrics.md.tmpl with the
// catalog (every KPI with its measures, default targets, sources and SQL)
// generated from Catalog, so the documentation cannot drift from the code.
// A test compares it with the committed file.
func Doc() (string, error) {
	funcs := template.FuncMap{
		"targets": func(ts []Target) string {
			if len(ts) == 0 {
				return "none"
			}
			var parts []string
			for _, t := range ts {
				s := fmt.Sprintf("%s %s %g", t.Measure, t.Op, t.Value)
				if t.Slice != "" {
					s += " (" + t.Slice + ")"
				}
				if t.Amber != 0 {
					s += fmt.Sprintf(", amber to %g", t.Amber)
				}
				parts = append(parts, "`"+s+"`")
			}
			return strings.Join(parts, "; ")
		},
		"join": func(ss []string) string { return "`" + strings.Join(ss, "`, `") + "`" },
	}
	t, err := template.New("doc").Funcs(funcs).Parse(docTemplate)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, struct{ Catalog []Definition }{Catalog()}); err != nil {
		return "", err
	}
	return b.String(), nil
}
