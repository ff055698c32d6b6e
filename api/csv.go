package api

import (
	"encoding/csv"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// wantsCSV reports whether the client asked for CSV (format=csv, or an
// Accept header preferring text/csv without format). CSV needs the export
// scope besides the list's own.
func (s *Server) wantsCSV(c *gin.Context) (bool, error) {
	f, err := oneParam(c, "format")
	if err != nil {
		return false, err
	}
	var want bool
	switch f {
	case "json":
	case "csv":
		want = true
	case "":
		a := c.GetHeader("Accept")
		want = strings.Contains(a, "text/csv") && !strings.Contains(a, "application/json")
	default:
		return false, errParam("format", "want json or csv")
	}
	if want && !principalOf(c).has(Export) {
		return false, &Error{Code: CodeForbidden, Param: "format", Detail: "CSV answers need a token with the export scope"}
	}
	return want, nil
}

// Neutralize makes a cell safe to open in a spreadsheet: text starting
// with =, +, -, @, a tab or a carriage return (which Excel and LibreOffice
// may evaluate as a formula) gets a leading apostrophe. writeCSV passes
// every cell through it; the lists hold no negative numbers, so no number
// is changed.
func Neutralize(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// writeCSV answers with a CSV document: a header row, then rows, every
// text cell neutralized. next, when set, is the cursor of the next page,
// sent in the X-Next-Cursor header.
func (s *Server) writeCSV(c *gin.Context, name string, header []string, rows [][]string, next string) {
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="`+name+`.csv"`)
	if next != "" {
		c.Header("X-Next-Cursor", next)
	}
	c.Status(http.StatusOK)
	w := csv.NewWriter(c.Writer)
	_ = w.Write(header)
	for _, r := range rows {
		for i := range r {
			r[i] = Neutralize(r[i])
		}
		if err := w.Write(r); err != nil {
			return
		}
	}
	w.Flush()
}
