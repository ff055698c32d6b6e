// Package queries owns everything that touches ClickHouse: the connection,
// the embedded local server, the schema migrations and every SQL statement
// the service runs, kept as .sql files embedded into the binary.
//
// All SQL must run on ClickHouse 18.16 (Debian's package, used by the tests)
// and on the current LTS (docker-compose.yml): no DateTime64, window
// functions, WITH-CTEs, Map/JSON types or server-side {name:Type}
// parameters. Values are bound client-side with clickhouse-go's own binding
// (? or @name); a name that must vary comes from a Go allowlist.
package queries

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"reflect"
	"strings"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	chdriver "github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Config is how to reach ClickHouse. An empty Addr means the embedded local
// server (see Server); the caller fills Addr with its address.
type Config struct {
	// Addr lists host:port of the native protocol (TCP, default port 9000).
	Addr     []string `yaml:"addr"`
	Database string   `yaml:"database"`
	User     string   `yaml:"user"`
	// Password is never read from the config file in clear: the caller
	// resolves password_env or password_file into it.
	Password     string `yaml:"-"`
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
	TLS          TLS    `yaml:"tls"`
	// DialTimeout bounds connecting; ReadTimeout bounds waiting for a server
	// answer; QueryTimeout is the deadline put on a query whose context has
	// none; MaxExecutionTime is sent as the server-side max_execution_time so
	// that a query the client gave up on does not keep running.
	DialTimeout      time.Duration `yaml:"dial_timeout"`
	ReadTimeout      time.Duration `yaml:"read_timeout"`
	QueryTimeout     time.Duration `yaml:"query_timeout"`
	MaxExecutionTime time.Duration `yaml:"max_execution_time"`
	MaxOpenConns     int           `yaml:"max_open_conns"`
	// Cluster, when set, makes the schema run ON CLUSTER with replicated
	// engines under Distributed tables (docs/schema.md).
	Cluster string `yaml:"cluster"`
}

// TLS configures TLS for the native protocol.
type TLS struct {
	Enabled            bool   `yaml:"enabled"`
	CAFile             string `yaml:"ca_file"`
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// Defaults returns the configuration used where the config file is silent.
func Defaults() Config {
	return Config{
		Database:         "secmetrics",
		User:             "default",
		DialTimeout:      5 * time.Second,
		ReadTimeout:      5 * time.Minute,
		QueryTimeout:     2 * time.Minute,
		MaxExecutionTime: 2 * time.Minute,
		MaxOpenConns:     16,
	}
}

// DB is an open connection pool to one ClickHouse database.
type DB struct {
	conn chdriver.Conn
	cfg  Config
	log  *slog.Logger
}

// Open connects to ClickHouse, creates the configured database when it is
// missing, and returns a pool bound to it. It does not migrate.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*DB, error) {
	if len(cfg.Addr) == 0 {
		return nil, errors.New("clickhouse: no address configured")
	}
	if !validName(cfg.Database) {
		return nil, fmt.Errorf("clickhouse: invalid database name %q (letters, digits and _ only)", cfg.Database)
	}
	if cfg.Cluster != "" && !validName(cfg.Cluster) {
		return nil, fmt.Errorf("clickhouse: invalid cluster name %q (letters, digits and _ only)", cfg.Cluster)
	}
	tlsCfg, err := cfg.TLS.config()
	if err != nil {
		return nil, err
	}
	opts := func(db string) *clickhouse.Options {
		return &clickhouse.Options{
			Protocol: clickhouse.Native,
			Addr:     cfg.Addr,
			Auth:     clickhouse.Auth{Database: db, Username: cfg.User, Password: cfg.Password},
			TLS:      tlsCfg,
			Settings: clickhouse.Settings{
				"max_execution_time": int(cfg.MaxExecutionTime / time.Second),
			},
			DialTimeout:  cfg.DialTimeout,
			ReadTimeout:  cfg.ReadTimeout,
			MaxOpenConns: cfg.MaxOpenConns,
			MaxIdleConns: min(cfg.MaxOpenConns, 8),
			Compression:  &clickhouse.Compression{Method: clickhouse.CompressionLZ4},
		}
	}
	boot, err := clickhouse.Open(opts("default"))
	if err != nil {
		return nil, fmt.Errorf("clickhouse: %w", err)
	}
	bctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout+10*time.Second)
	defer cancel()
	if err := boot.Ping(bctx); err != nil {
		boot.Close()
		return nil, fmt.Errorf("connect to clickhouse at %s: %w", strings.Join(cfg.Addr, ","), Clean(err))
	}
	create := "CREATE DATABASE IF NOT EXISTS " + cfg.Database
	if cfg.Cluster != "" {
		create += " ON CLUSTER " + cfg.Cluster
	}
	if err := boot.Exec(bctx, create); err != nil && !IsCode(err, codeDatabaseExists) {
		boot.Close()
		return nil, fmt.Errorf("create database %s: %w", cfg.Database, Clean(err))
	}
	boot.Close()
	conn, err := clickhouse.Open(opts(cfg.Database))
	if err != nil {
		return nil, fmt.Errorf("clickhouse: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &DB{conn: conn, cfg: cfg, log: log}, nil
}

func (t TLS) config() (*tls.Config, error) {
	if !t.Enabled {
		return nil, nil
	}
	c := &tls.Config{ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // opt-in, documented
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("clickhouse tls: read ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("clickhouse tls: ca_file %s holds no PEM certificate", t.CAFile)
		}
		c.RootCAs = pool
	}
	return c, nil
}

// Conn returns the underlying driver connection, for batches and queries.
// Callers must put a deadline on every context (see Context).
func (db *DB) Conn() chdriver.Conn { return db.conn }

// Database returns the database name.
func (db *DB) Database() string { return db.cfg.Database }

// MaxOpenConns returns the size of the connection pool.
func (db *DB) MaxOpenConns() int { return db.cfg.MaxOpenConns }

// Cluster returns the configured cluster name, empty for a single server.
func (db *DB) Cluster() string { return db.cfg.Cluster }

// Context returns ctx with the configured query timeout unless it already
// has an earlier deadline.
func (db *DB) Context(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= db.cfg.QueryTimeout {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, db.cfg.QueryTimeout)
}

// Ping checks that the server answers.
func (db *DB) Ping(ctx context.Context) error {
	ctx, cancel := db.Context(ctx)
	defer cancel()
	if err := db.conn.Ping(ctx); err != nil {
		return fmt.Errorf("ping clickhouse: %w", Clean(err))
	}
	return nil
}

// Exec runs one statement with bound values. Every statement the service
// runs through Exec is idempotent (DDL with IF NOT EXISTS, INSERT ... SELECT
// of versioned rows), so a connection failure is retried (see Retry).
func (db *DB) Exec(ctx context.Context, query string, args ...any) error {
	ctx, cancel := db.Context(ctx)
	defer cancel()
	return Clean(Retry(ctx, func() error { return db.conn.Exec(ctx, query, args...) }))
}

// Select runs a query and scans every row into dest, a pointer to a slice
// of structs with `ch` tags. A connection failure is retried from scratch
// (dest is emptied first).
func (db *DB) Select(ctx context.Context, dest any, query string, args ...any) error {
	ctx, cancel := db.Context(ctx)
	defer cancel()
	return Clean(Retry(ctx, func() error {
		if v := reflect.ValueOf(dest); v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Slice {
			v.Elem().SetLen(0)
		}
		return db.conn.Select(ctx, dest, query, args...)
	}))
}

// QueryRow runs a query expected to return one row and scans it into dest.
func (db *DB) QueryRow(ctx context.Context, query string, args []any, dest ...any) error {
	ctx, cancel := db.Context(ctx)
	defer cancel()
	return Clean(Retry(ctx, func() error { return db.conn.QueryRow(ctx, query, args...).Scan(dest...) }))
}

// retryDelays are the waits before the second and third attempt of Retry.
var retryDelays = []time.Duration{100 * time.Millisecond, 500 * time.Millisecond}

// Retry runs fn, and again (at most twice more, after short waits) while it
// fails with a connection-level error: the driver can hand out a pooled
// connection that a failed network write left broken (clickhouse-go issue
// 1868), and the next attempt takes another connection. Server errors,
// context errors and everything else return at once. Use it only for work
// that is safe to repeat: reads, idempotent statements, preparing a batch.
func Retry(ctx context.Context, fn func() error) error {
	err := fn()
	for _, d := range retryDelays {
		if err == nil || !IsConnError(err) || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(d):
		}
		err = fn()
	}
	return err
}

// IsConnError reports whether err is a broken connection rather than an
// answer from the server: the request may be repeated on another
// connection.
func IsConnError(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		return false
	}
	if errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, driver.ErrBadConn) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "use of closed network connection") || strings.Contains(msg, "broken pipe") ||
		strings.Contains(msg, "connection reset by peer")
}

// Close closes the pool.
func (db *DB) Close() error { return db.conn.Close() }

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
