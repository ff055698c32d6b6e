// Package chtest runs tests against a real ClickHouse server: one
// clickhouse-server per test binary, started by Main on a free loopback port
// with a temporary data folder, and a fresh migrated database per test.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { chtest.Main(m) }
//
// and in a test:
//
//	db := chtest.New(t)
//
// When no server binary is installed, Main prints how to install one; tests
// that call New then fail when the CI environment variable is set and are
// skipped with that message otherwise. Set SECMETRICS_TEST_CLICKHOUSE to
// host:port to use a running server instead of starting one.
package chtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/secmetrics/secmetrics/queries"
)

var (
	addr     string
	startErr error
)

// Main starts the server, runs the tests and stops the server.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if a := os.Getenv("SECMETRICS_TEST_CLICKHOUSE"); a != "" {
		addr = a
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "secmetrics-chtest-")
	if err != nil {
		startErr = err
		return m.Run()
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	srv, err := queries.StartServer(ctx, queries.ServerConfig{DataDir: dir, MaxMemory: 2 << 30}, nil)
	cancel()
	if err != nil {
		startErr = err
		fmt.Fprintf(os.Stderr, "chtest: cannot start ClickHouse: %v\n", err)
		return m.Run()
	}
	defer srv.Stop()
	addr = srv.Addr()
	return m.Run()
}

// Addr returns the test server's address ("" before Main).
func Addr() string { return addr }

// New returns a connection to a new, migrated database that is dropped when
// the test ends.
func New(t testing.TB) *queries.DB {
	t.Helper()
	db, _ := NewWithConfig(t, nil)
	return db
}

// NewWithConfig is New with a hook to adjust the connection config (for
// example to test timeouts); it also returns the config used.
func NewWithConfig(t testing.TB, adjust func(*queries.Config)) (*queries.DB, queries.Config) {
	t.Helper()
	if addr == "" {
		msg := "no ClickHouse for tests: call chtest.Main from TestMain"
		if startErr != nil {
			msg = startErr.Error()
		}
		if os.Getenv("CI") != "" {
			t.Fatalf("chtest: %s", msg)
		}
		t.Skipf("chtest: %s", msg)
	}
	cfg := queries.Defaults()
	cfg.Addr = []string{addr}
	cfg.Database = "test_" + randomHex(6)
	cfg.QueryTimeout = time.Minute
	cfg.MaxOpenConns = 4
	if adjust != nil {
		adjust(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	db, err := queries.Open(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("chtest: open: %v", err)
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		t.Fatalf("chtest: migrate: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = db.Exec(ctx, "DROP DATABASE IF EXISTS "+cfg.Database)
		db.Close()
	})
	return db, cfg
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
