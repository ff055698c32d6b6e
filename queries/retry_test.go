package queries

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

func TestIsConnError(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&net.OpError{Op: "read", Net: "tcp", Err: net.ErrClosed}, true},
		{fmt.Errorf("read: %w", io.EOF), true},
		{fmt.Errorf("write: %w", syscall.EPIPE), true},
		{syscall.ECONNRESET, true},
		{driver.ErrBadConn, true},
		{errors.New("read tcp 127.0.0.1:1->127.0.0.1:2: use of closed network connection"), true},
		{&clickhouse.Exception{Code: 60, Message: "Table doesn't exist"}, false},
		{context.DeadlineExceeded, false},
		{context.Canceled, false},
		{errors.New("invalid argument"), false},
		{nil, false},
	} {
		if got := IsConnError(tc.err); got != tc.want {
			t.Errorf("IsConnError(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestRetry(t *testing.T) {
	saved := retryDelays
	retryDelays = []time.Duration{time.Millisecond, time.Millisecond}
	defer func() { retryDelays = saved }()
	closed := &net.OpError{Op: "read", Net: "tcp", Err: net.ErrClosed}
	ctx := context.Background()

	calls := 0
	err := Retry(ctx, func() error {
		calls++
		if calls == 1 {
			return closed
		}
		return nil
	})
	if err != nil || calls != 2 {
		t.Fatalf("a broken connection then success: err %v after %d calls, want nil after 2", err, calls)
	}

	calls = 0
	err = Retry(ctx, func() error { calls++; return closed })
	if !errors.Is(err, net.ErrClosed) || calls != 3 {
		t.Fatalf("always broken: err %v after %d calls, want the error after 3", err, calls)
	}

	calls = 0
	server := &clickhouse.Exception{Code: 241, Message: "memory limit"}
	err = Retry(ctx, func() error { calls++; return server })
	if err != server || calls != 1 {
		t.Fatalf("server error: %v after %d calls, want it at once", err, calls)
	}

	cctx, cancel := context.WithCancel(ctx)
	calls = 0
	err = Retry(cctx, func() error { calls++; cancel(); return closed })
	if calls != 1 || err == nil {
		t.Fatalf("cancelled context: %d calls, want 1", calls)
	}
}
