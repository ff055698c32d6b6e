package api

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/gin-gonic/gin"

	"github.com/secmetrics/secmetrics/queries"
)

// keyKind is the type of a sort key, for binding a cursor's value.
type keyKind int

const (
	timeKey keyKind = iota
	intKey
	floatKey
	strKey
)

// sortKey is one allowlisted sort order of a list: a fixed SQL expression
// over the statement's output columns.
type sortKey struct {
	expr string
	kind keyKind
}

// listSpec describes a list endpoint's paging.
type listSpec struct {
	route   string
	sorts   map[string]sortKey
	defSort string // e.g. "-first_seen"
	tie     string // unique tie-breaker expression, ordered with the sort
	tieKind keyKind
	// tieBind is the SQL of the bound tie value (@c_t, or a conversion of
	// it such as toUUID(@c_t)).
	tieBind string
	// noCache keeps pages out of the response cache: the audit log changes
	// with every request and is not part of the data version.
	noCache bool
}

// page is a parsed page request: sort, cursor position and limit.
type page struct {
	spec   listSpec
	key    string // sort key name
	desc   bool
	limit  int
	after  bool // a cursor was given
	value  any  // the sort value of the last row of the previous page
	tie    any
	csv    bool
	qsig   string // binds cursors to the query and token
	format string
}

// cursor is the signed position after the last row of a page. It is bound
// to the list, sort, filters and token it was made for: using it with any
// other query, or altering it, is a 400.
type cursor struct {
	Q string `json:"q"`
	S string `json:"s"`
	V string `json:"v"`
	T string `json:"t"`
}

const (
	csvDefaultRows = 10000
	csvMaxRows     = 50000
)

var pageParams = []string{"sort", "limit", "cursor", "format"}

// pageOf reads sort, limit, cursor and format.
func (s *Server) pageOf(c *gin.Context, spec listSpec) (page, error) {
	p := page{spec: spec}
	var err error
	if p.csv, err = s.wantsCSV(c); err != nil {
		return p, err
	}
	if p.csv {
		p.format = "csv"
	}
	sortV, err := oneParam(c, "sort")
	if err != nil {
		return p, err
	}
	if sortV == "" {
		sortV = spec.defSort
	}
	p.key, p.desc = strings.TrimPrefix(sortV, "-"), strings.HasPrefix(sortV, "-")
	if _, ok := spec.sorts[p.key]; !ok {
		names := make([]string, 0, len(spec.sorts))
		for k := range spec.sorts {
			names = append(names, k)
		}
		slices.Sort(names)
		return p, errParam("sort", fmt.Sprintf("%q: want one of %s (prefix - for descending)", clip(sortV, 64), strings.Join(names, ", ")))
	}
	def, max := s.cfg.PageSize, s.cfg.MaxPageSize
	if p.csv {
		def, max = csvDefaultRows, csvMaxRows
	}
	if p.limit, err = intParam(c, "limit", def, 1, max); err != nil {
		return p, err
	}
	p.qsig = querySig(c, principalOf(c).TokenID)
	raw, err := oneParam(c, "cursor")
	if err != nil || raw == "" {
		return p, err
	}
	cur, ok := s.openCursor(raw)
	if !ok || cur.Q != p.qsig || cur.S != sortV {
		return p, errParam("cursor", "not a cursor of this list, sort, filter and token (take next_cursor from the previous page)")
	}
	if p.value, err = parseKey(spec.sorts[p.key].kind, cur.V); err != nil {
		return p, errParam("cursor", "malformed cursor")
	}
	if p.tie, err = parseKey(spec.tieKind, cur.T); err != nil {
		return p, errParam("cursor", "malformed cursor")
	}
	p.after = true
	return p, nil
}

// querySig hashes the route, the filters (every parameter but the paging
// ones) and the token id.
func querySig(c *gin.Context, tokenID string) string {
	q := c.Request.URL.Query()
	for _, k := range []string{"limit", "cursor", "format"} {
		q.Del(k)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s", c.FullPath(), q.Encode(), tokenID)
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:12])
}

func parseKey(k keyKind, v string) (any, error) {
	switch k {
	case timeKey:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n >= 1<<32 {
			return nil, fmt.Errorf("bad time")
		}
		return time.Unix(n, 0).UTC(), nil
	case intKey:
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err
	case floatKey:
		return strconv.ParseFloat(v, 64)
	}
	if len(v) > 4096 {
		return nil, fmt.Errorf("long")
	}
	return v, nil
}

// keyString renders a sort value for a cursor.
func keyString(v any) string {
	switch x := v.(type) {
	case time.Time:
		return strconv.FormatInt(x.Unix(), 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case uint8:
		return strconv.Itoa(int(x))
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case string:
		return x
	}
	return fmt.Sprint(v)
}

func (s *Server) sealCursor(cur cursor) string {
	b, _ := json.Marshal(cur)
	p := base64.RawURLEncoding.EncodeToString(b)
	return p + "." + base64.RawURLEncoding.EncodeToString(sign(s.keys.cursor, []byte(p))[:16])
}

func (s *Server) openCursor(raw string) (cursor, bool) {
	if len(raw) > 8192 {
		return cursor{}, false
	}
	p, sig, ok := strings.Cut(raw, ".")
	if !ok {
		return cursor{}, false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, sign(s.keys.cursor, []byte(p))[:16]) {
		return cursor{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return cursor{}, false
	}
	var cur cursor
	if json.Unmarshal(b, &cur) != nil {
		return cursor{}, false
	}
	return cur, true
}

// next returns the cursor after a row with sort value v and tie value t.
func (s *Server) next(p page, v, t any) string {
	sortV := p.key
	if p.desc {
		sortV = "-" + sortV
	}
	return s.sealCursor(cursor{Q: p.qsig, S: sortV, V: keyString(v), T: keyString(t)})
}

// order and after are the ORDER BY and the keyset condition of p: only
// allowlisted expressions, the cursor's values are bound parameters.
func (p page) order() string {
	dir := " ASC"
	if p.desc {
		dir = " DESC"
	}
	return p.spec.sorts[p.key].expr + dir + ", " + p.spec.tie + dir
}

func (p page) afterSQL() string {
	if !p.after {
		return ""
	}
	op := ">"
	if p.desc {
		op = "<"
	}
	bind := p.spec.tieBind
	if bind == "" {
		bind = "@c_t"
	}
	return "AND (" + p.spec.sorts[p.key].expr + ", " + p.spec.tie + ") " + op + " (@c_v, " + bind + ")"
}

func (p page) args() []any {
	v, t := p.value, p.tie
	if !p.after {
		v, t = int64(0), int64(0)
	}
	return []any{clickhouse.Named("c_v", v), clickhouse.Named("c_t", t), clickhouse.Named("limit", uint64(p.limit+1))}
}

// listSQL renders a list statement of queries/api with the page's order
// and keyset condition and a fixed extra condition (a Go constant).
func listSQL(name string, p page, extra string, more map[string]any) (string, error) {
	d := map[string]any{"Order": p.order(), "After": p.afterSQL(), "Where": extra}
	for k, v := range more {
		d[k] = v
	}
	return renderSQL(name, d)
}

// renderSQL renders the statement api/<name> with template fields d, which
// hold only Go constants and allowlisted expressions; values are bound
// parameters.
func renderSQL(name string, d map[string]any) (string, error) {
	t, err := template.New(name).Option("missingkey=error").Parse(queries.SQL("api/" + name))
	if err != nil {
		return "", fmt.Errorf("parse api/%s: %w", name, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("render api/%s: %w", name, err)
	}
	return b.String(), nil
}

func clickhouseNamed(name string, v any) any { return clickhouse.Named(name, v) }
