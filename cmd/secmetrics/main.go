// Command secmetrics ingests security data into ClickHouse, computes the
// KPIs of docs/metrics.md and serves them as a JSON API, chart pages and
// Excel workbooks. Run "secmetrics help" for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/queries"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `secmetrics: security metrics and KPI reporting

Usage:
  secmetrics [-config FILE] COMMAND [flags]

Commands:
  serve                     run the HTTP service (API, dashboard, exports)
  demo [--reset]            load a generated demo organisation on first run, then serve it
  migrate [-print]          apply database migrations (or print the schema DDL)
  config check              validate the configuration and list every problem
  ingest inventory FILE...  import Backstage catalog files (.yaml) or an inventory CSV
  ingest scan FILE...       ingest scanner reports (SARIF, Trivy, Grype, Semgrep, Gitleaks, Snyk, OSV-Scanner, GitHub alerts)
  ingest kev FILE           import the CISA KEV catalog (JSON)
  ingest epss FILE          import an EPSS daily CSV (gzip or not)
  token create|list|revoke  manage API tokens (token create --name N --scopes S --teams T|* [--expires 90d])
  export qbr -o FILE        write the QBR workbook (or scorecard .csv) of a period (--period P, --team T)
  export run NAME           run one scheduled export now (--exports FILE); export runs lists the latest runs
  version                   print the version

The configuration file defaults to $SECMETRICS_CONFIG, then ./secmetrics.yaml
when it exists; without one, built-in defaults apply and ClickHouse runs
embedded (see README.md).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "secmetrics:", err)
		}
		os.Exit(1)
	}
}

// env is what a command needs from the outside world.
type env struct {
	ctx    context.Context
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	cfg    Config
	log    *slog.Logger
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("secmetrics", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	configPath := fs.String("config", "", "configuration file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	args = fs.Args()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	if args[0] == "version" {
		fmt.Fprintln(stdout, "secmetrics", version)
		return nil
	}
	path := *configPath
	if path == "" {
		path = getenv("SECMETRICS_CONFIG")
	}
	if path == "" {
		if _, err := os.Stat("secmetrics.yaml"); err == nil {
			path = "secmetrics.yaml"
		}
	}
	cfg, err := loadConfig(path, getenv)
	if args[0] == "config" {
		return configCmd(stdout, args[1:], path, err)
	}
	if err != nil {
		return err
	}
	e := &env{ctx: ctx, stdout: stdout, stderr: stderr, getenv: getenv, cfg: cfg, log: newLogger(stderr, cfg.Log)}
	switch args[0] {
	case "serve":
		return e.serve(args[1:])
	case "demo":
		return e.demo(args[1:])
	case "migrate":
		return e.migrate(args[1:])
	case "ingest":
		return e.ingest(args[1:])
	case "token":
		return e.token(args[1:])
	case "export":
		return e.export(args[1:])
	}
	return fmt.Errorf("unknown command %q (run \"secmetrics help\")", args[0])
}

func newLogger(w io.Writer, c LogConfig) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func configCmd(stdout io.Writer, args []string, path string, loadErr error) error {
	if len(args) != 1 || args[0] != "check" {
		return errors.New("usage: secmetrics config check")
	}
	if path == "" {
		path = "(no file: built-in defaults)"
	}
	if loadErr != nil {
		return fmt.Errorf("%s: %w", path, loadErr)
	}
	fmt.Fprintf(stdout, "%s: ok\n", path)
	return nil
}

// database is an open, migrated database and, when ClickHouse is embedded,
// its server.
type database struct {
	db     *queries.DB
	server *queries.Server
}

func (d *database) Close() {
	if d.db != nil {
		d.db.Close()
	}
	if d.server != nil {
		_ = d.server.Stop()
	}
}

// open connects to the configured ClickHouse, starting the embedded server
// when no address is configured, and migrates the schema.
func (e *env) open() (*database, error) {
	d := &database{}
	cfg := e.cfg.ClickHouse
	if len(cfg.Addr) == 0 {
		if addr, ok := queries.Running(e.cfg.Embedded.DataDir); ok {
			cfg.Addr = []string{addr} // "serve" already runs the embedded server
		}
	}
	if len(cfg.Addr) == 0 {
		srv, err := queries.StartServer(e.ctx, e.cfg.Embedded, e.log)
		if err != nil {
			return nil, err
		}
		d.server = srv
		cfg.Addr = []string{srv.Addr()}
	}
	db, err := queries.Open(e.ctx, cfg, e.log)
	if err != nil {
		d.Close()
		return nil, err
	}
	d.db = db
	if err := db.Migrate(e.ctx); err != nil {
		d.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if n, err := ingest.NewStore(db, e.log).EnsureIntervals(e.ctx); err != nil {
		d.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	} else if n > 0 {
		e.log.Info("finding_intervals built from the event history", "findings", n)
	}
	return d, nil
}

func (e *env) migrate(args []string) error {
	fs := newFlags("migrate", e.stderr)
	print := fs.Bool("print", false, "print the schema statements instead of applying them")
	cluster := fs.String("cluster", "", "with -print: render for this cluster (default: clickhouse.cluster)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return errors.New("usage: secmetrics migrate [-print [-cluster NAME]]")
	}
	if *print {
		c := e.cfg.ClickHouse.Cluster
		if *cluster != "" {
			c = *cluster
		}
		ms, err := queries.Migrations(e.cfg.ClickHouse.Database, c)
		if err != nil {
			return err
		}
		for _, m := range ms {
			fmt.Fprintf(e.stdout, "-- %04d_%s\n", m.Version, m.Name)
			for _, st := range m.Statements {
				fmt.Fprintf(e.stdout, "%s;\n\n", st)
			}
		}
		return nil
	}
	d, err := e.open()
	if err != nil {
		return err
	}
	defer d.Close()
	pending, err := d.db.Pending(e.ctx)
	if err != nil {
		return err
	}
	ms, _ := queries.Migrations(d.db.Database(), d.db.Cluster())
	fmt.Fprintf(e.stdout, "schema up to date: %d migrations applied, %d pending\n", len(ms)-len(pending), len(pending))
	return nil
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
