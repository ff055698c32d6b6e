package metrics

import (
	"errors"
	"strconv"
	"strings"
)

// InputError is a problem with what the caller asked for (unknown KPI, bad
// period, bad group_by, invalid configuration). The API maps it to 400;
// every other error from this package is internal (500).
type InputError struct {
	Field   string // the offending parameter, e.g. "period", "group_by"
	Message string
}

func (e *InputError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// IsInputError reports whether err is (or wraps) an *InputError.
func IsInputError(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}

func inputErr(field, msg string) error { return &InputError{Field: field, Message: msg} }

// problems collects every configuration problem so they are reported at
// once.
type problems []string

func (p *problems) add(msg string) { *p = append(*p, msg) }

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return &InputError{Field: "metrics config", Message: strings.Join(p, "; ")}
}

func quote(s string) string { return strconv.Quote(s) }

func quoteList(ss []string) string { return strings.Join(ss, ", ") }
