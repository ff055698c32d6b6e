package queries

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// ClickHouse server error codes the service handles.
const (
	codeTableExists    = 57
	codeDatabaseExists = 82
	codeUnknownTable   = 60
	codeTimeout        = 159
	codeMemoryLimit    = 241
	codeTooManyQueries = 202
)

// IsCode reports whether err is a ClickHouse server exception with code.
func IsCode(err error, code int32) bool {
	var ex *clickhouse.Exception
	return errors.As(err, &ex) && ex.Code == code
}

// Error is a ClickHouse failure with a message fit for an operator: the
// server's code and first line, not the driver's stack trace. The original
// error stays reachable with errors.Unwrap.
type Error struct {
	Code int32
	Msg  string
	err  error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.err }

// Clean turns a driver error into an *Error with a short message. Context
// errors and nil pass through unchanged.
func Clean(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		msg := ex.Message
		if i := strings.Index(msg, "Stack trace"); i > 0 {
			msg = msg[:i]
		}
		if i := strings.IndexByte(msg, '\n'); i > 0 {
			msg = msg[:i]
		}
		msg = strings.TrimSpace(msg)
		if len(msg) > 300 {
			msg = msg[:300] + "..."
		}
		hint := ""
		switch ex.Code {
		case codeTimeout:
			hint = " (query exceeded max_execution_time)"
		case codeMemoryLimit:
			hint = " (query exceeded the memory limit)"
		case codeTooManyQueries:
			hint = " (server busy)"
		}
		return &Error{Code: ex.Code, Msg: fmt.Sprintf("clickhouse error %d%s: %s", ex.Code, hint, msg), err: err}
	}
	return &Error{Msg: "clickhouse: " + err.Error(), err: err}
}
