package api

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/secmetrics/secmetrics/metrics"
)

// Limits on query parameters: values beyond them are refused with 400
// before anything reaches ClickHouse.
const (
	maxParamValues = 100 // values of one list parameter
	maxParamLen    = 256 // bytes of one value
	maxQueryLen    = 8192
)

var (
	// The earliest and latest instants a period may touch: ClickHouse
	// DateTime covers 1970–2106.
	minTime = time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2105, 12, 31, 0, 0, 0, 0, time.UTC)
)

// checkParams refuses parameters not in allowed (a typo must not silently
// widen a query) and over-long query strings.
func checkParams(c *gin.Context, allowed ...string) error {
	if len(c.Request.URL.RawQuery) > maxQueryLen {
		return errParam("query", fmt.Sprintf("the query string exceeds %d bytes", maxQueryLen))
	}
	q, err := url.ParseQuery(c.Request.URL.RawQuery)
	if err != nil {
		return errParam("query", "malformed query string (a ';', or a bad %-escape)")
	}
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if !slices.Contains(allowed, k) {
			return errParam(clip(k, 64), "unknown parameter (allowed: "+strings.Join(allowed, ", ")+")")
		}
	}
	return nil
}

// textValue checks one text value of parameter name.
func textValue(name, v string) error {
	if len(v) > maxParamLen {
		return errParam(name, fmt.Sprintf("a value exceeds %d bytes", maxParamLen))
	}
	if !utf8.ValidString(v) {
		return errParam(name, "a value is not valid UTF-8")
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return errParam(name, "a value contains a control character")
		}
	}
	return nil
}

// listParam returns the values of a repeatable parameter; each occurrence
// may also hold a comma-separated list. Empty items are dropped.
func listParam(c *gin.Context, name string) ([]string, error) {
	var out []string
	for _, raw := range c.QueryArray(name) {
		for _, v := range strings.Split(raw, ",") {
			v = strings.TrimSpace(v)
			if v == "" {
				continue
			}
			if err := textValue(name, v); err != nil {
				return nil, err
			}
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	if len(out) > maxParamValues {
		return nil, errParam(name, fmt.Sprintf("at most %d values", maxParamValues))
	}
	return out, nil
}

// enumParam is listParam restricted to allowed values.
func enumParam(c *gin.Context, name string, allowed []string) ([]string, error) {
	vs, err := listParam(c, name)
	if err != nil {
		return nil, err
	}
	for _, v := range vs {
		if !slices.Contains(allowed, v) {
			return nil, errParam(name, fmt.Sprintf("%q is not one of %s", clip(v, 64), strings.Join(allowed, ", ")))
		}
	}
	return vs, nil
}

// oneParam returns the single value of name ("" when absent); repeating
// it is an error.
func oneParam(c *gin.Context, name string) (string, error) {
	vs := c.QueryArray(name)
	switch len(vs) {
	case 0:
		return "", nil
	case 1:
		return vs[0], textValue(name, vs[0])
	}
	return "", errParam(name, "given more than once")
}

func boolParam(c *gin.Context, name string) (*bool, error) {
	v, err := oneParam(c, name)
	if err != nil || v == "" {
		return nil, err
	}
	b, perr := strconv.ParseBool(v)
	if perr != nil {
		return nil, errParam(name, fmt.Sprintf("%q: want true or false", clip(v, 32)))
	}
	return &b, nil
}

func intParam(c *gin.Context, name string, def, lo, hi int) (int, error) {
	v, err := oneParam(c, name)
	if err != nil || v == "" {
		return def, err
	}
	n, perr := strconv.Atoi(v)
	if perr != nil || n < lo || n > hi {
		return 0, errParam(name, fmt.Sprintf("%q: want an integer from %d to %d", clip(v, 32), lo, hi))
	}
	return n, nil
}

// timeParam parses a date (midnight in loc) or an RFC 3339 instant.
func timeParam(c *gin.Context, name string, loc *time.Location) (time.Time, error) {
	v, err := oneParam(c, name)
	if err != nil || v == "" {
		return time.Time{}, err
	}
	t, perr := time.ParseInLocation("2006-01-02", v, loc)
	if perr != nil {
		t, perr = time.Parse(time.RFC3339, v)
	}
	if perr != nil {
		return time.Time{}, errParam(name, fmt.Sprintf("%q: want a date (2026-07-01) or an RFC 3339 time", clip(v, 40)))
	}
	if t.Before(minTime) || t.After(maxTime) {
		return time.Time{}, errParam(name, "out of range (1970-01-02 to 2105-12-31)")
	}
	return t.UTC(), nil
}

// periodParams reads period, or from and to. required says whether one
// must be given. The earliest period the query reaches (back trend
// periods and the comparison) must stay within ClickHouse's time range.
func (s *Server) periodParams(c *gin.Context, required bool, back int) (metrics.Period, bool, error) {
	name, err := oneParam(c, "period")
	if err != nil {
		return metrics.Period{}, false, err
	}
	from, err := oneParam(c, "from")
	if err != nil {
		return metrics.Period{}, false, err
	}
	to, err := oneParam(c, "to")
	if err != nil {
		return metrics.Period{}, false, err
	}
	var p metrics.Period
	switch {
	case name != "" && (from != "" || to != ""):
		return p, false, errParam("period", "give period, or from and to, not both")
	case name != "":
		if strings.Contains(name, "/") || strings.Contains(name, "..") {
			return p, false, errParam("period", "a range is given with from and to")
		}
		p, err = s.b.Metrics.ParsePeriod(name)
		if err != nil {
			return p, false, err
		}
	case from != "" || to != "":
		if from == "" || to == "" {
			return p, false, errParam(map[bool]string{true: "from", false: "to"}[from == ""], "from and to go together")
		}
		loc := s.b.Metrics.Location()
		f, err := timeParam(c, "from", loc)
		if err != nil {
			return p, false, err
		}
		t, err := timeParam(c, "to", loc)
		if err != nil {
			return p, false, err
		}
		if !f.Before(t) {
			return p, false, errParam("to", "must be after from")
		}
		p, err = metrics.NewRange(f, t, loc)
		if err != nil {
			return p, false, err
		}
	default:
		if required {
			return p, false, errParam("period", "required: a period (2026-Q3, 2026-09, 2026-W38) or from and to")
		}
		return p, false, nil
	}
	if p.To.After(maxTime) {
		return p, false, errParam("period", "out of range (the end must be before 2106)")
	}
	first := p
	for i := 0; i <= back; i++ {
		first = first.Previous()
	}
	if first.From.Before(minTime) {
		return p, false, errParam("period", "out of range (with its comparison and trend, it must start after 1970-01-01)")
	}
	return p, true, nil
}

// filterParams reads the KPI filters.
func filterParams(c *gin.Context) (metrics.Filter, error) {
	var f metrics.Filter
	var err error
	if f.Teams, err = listParam(c, "team"); err != nil {
		return f, err
	}
	if f.BusinessUnits, err = listParam(c, "business_unit"); err != nil {
		return f, err
	}
	tiers, err := listParam(c, "tier")
	if err != nil {
		return f, err
	}
	for _, t := range tiers {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 || n > 4 {
			return f, errParam("tier", fmt.Sprintf("%q: want 0–4", clip(t, 32)))
		}
		f.Tiers = append(f.Tiers, n)
	}
	if f.Severities, err = enumParam(c, "severity", metrics.Severities); err != nil {
		return f, err
	}
	if f.Sources, err = listParam(c, "source"); err != nil {
		return f, err
	}
	if f.Assets, err = listParam(c, "asset"); err != nil {
		return f, err
	}
	return f, nil
}

var filterNames = []string{"team", "business_unit", "tier", "severity", "source", "asset"}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}
