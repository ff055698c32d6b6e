package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"testing"

	"github.com/secmetrics/secmetrics/queries"
)

// TestProblemForTimeouts: a request whose deadline passes answers 503
// (timeout), whether the deadline shows as the context's or, mid-read, as
// the driver's network i/o timeout; any other failure stays internal.
func TestProblemForTimeouts(t *testing.T) {
	ioTimeout := &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	for _, c := range []struct {
		name   string
		err    error
		status int
	}{
		{"context deadline", fmt.Errorf("vulnerability KPIs: %w", context.DeadlineExceeded), http.StatusServiceUnavailable},
		{"driver i/o timeout", fmt.Errorf("exploitable backlog: %w", queries.Clean(fmt.Errorf("query processing: failed to read packet: read: %w", ioTimeout))), http.StatusServiceUnavailable},
		{"other", errors.New("boom"), http.StatusInternalServerError},
	} {
		if p, _ := problemFor(c.err); p.Status != c.status {
			t.Errorf("%s: status %d, want %d", c.name, p.Status, c.status)
		}
	}
}
