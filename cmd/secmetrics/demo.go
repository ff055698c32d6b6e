package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"time"

	"github.com/secmetrics/secmetrics/api"
	"github.com/secmetrics/secmetrics/fixtures/demo"
	"github.com/secmetrics/secmetrics/ingest"
)

// demoSource is the ingest state entry that records the demo
// organisation: its watermark is the "now" the data was generated for.
const demoSource = "demo"

// demo loads the demo organisation into an empty database (or a reset
// one), creates a demo admin token and serves as serve does, printing the
// dashboard URL, the login URL and the token.
func (e *env) demo(args []string) error {
	fs := newFlags("demo", e.stderr)
	reset := fs.Bool("reset", false, "drop every table and load the demo organisation again")
	seed := fs.Uint64("seed", demo.DefaultSeed, "seed of the generated organisation")
	nowFlag := fs.String("now", "", "end of the generated history, RFC 3339 or YYYY-MM-DD (default: now)")
	dir := fs.String("dir", "", "directory for the generated source files (default: demo/ beside the embedded data directory)")
	live := fs.Duration("live", 72*time.Hour, "window before now whose scans are ingested as report files (older ones are backfilled)")
	external := fs.Bool("allow-external", false, "allow loading (and --reset) on a configured, non-embedded ClickHouse")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return errors.New("usage: secmetrics demo [--reset] [--seed N] [--now T] [--dir DIR] [--live 168h] [--allow-external]")
	}
	cfg := demo.Config{Seed: *seed, Live: *live}
	if *nowFlag != "" {
		t, err := parseDemoTime(*nowFlag)
		if err != nil {
			return err
		}
		if t.After(time.Now()) {
			return fmt.Errorf("--now %s is in the future: ingest refuses scans from the future", *nowFlag)
		}
		cfg.Now = t
	}
	if *dir == "" {
		*dir = filepath.Join(filepath.Dir(filepath.Clean(e.cfg.Embedded.DataDir)), "demo")
	}
	d, err := e.open()
	if err != nil {
		return err
	}
	defer d.Close()
	embedded := d.server != nil
	if !embedded && !*external && *reset {
		return errors.New("demo --reset drops every table: on a configured ClickHouse it needs --allow-external")
	}
	store := e.store(d)
	if *reset {
		if err := e.dropAll(d); err != nil {
			return err
		}
		fmt.Fprintln(e.stderr, "demo: database reset")
	}
	var scans uint64
	if err := demo.Retry(e.ctx, func() error { return d.db.QueryRow(e.ctx, "SELECT count() FROM scan_runs", nil, &scans) }); err != nil {
		return fmt.Errorf("look for existing data: %w", err)
	}
	dataNow := time.Now().UTC()
	switch {
	case scans == 0:
		if !embedded && !*external {
			return errors.New("demo: the configured ClickHouse is empty; loading the demo organisation into it needs --allow-external")
		}
		start := time.Now()
		org, err := demo.Generate(cfg)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "demo: generating the demo organisation (seed %d, %d days to %s) into %s\n",
			org.Seed, org.Days, org.Now.Format(time.RFC3339), *dir)
		inv := e.cfg.Inventory
		sum, err := org.Install(e.ctx, store, demo.Options{Dir: *dir, Inventory: &inv, Log: e.log,
			Progress: func(line string) { fmt.Fprintln(e.stderr, "demo:", line) }})
		if err != nil {
			return err
		}
		if err := demo.Retry(e.ctx, func() error {
			return store.Succeeded(e.ctx, demoSource, demoSource, org.Now, uint64(sum.Reports+sum.Backfill.Scans))
		}); err != nil {
			return err
		}
		dataNow = org.Now
		fmt.Fprintf(e.stderr, "demo: loaded in %.1fs\n", time.Since(start).Seconds())
	default:
		var st ingest.State
		if err := demo.Retry(e.ctx, func() (err error) { st, err = store.State(e.ctx, demoSource); return err }); err != nil {
			return err
		}
		if !st.Watermark.IsZero() {
			dataNow = st.Watermark
			fmt.Fprintf(e.stderr, "demo: reusing the demo organisation loaded for %s (--reset loads it again)\n", dataNow.Format("2006-01-02"))
		} else {
			fmt.Fprintf(e.stderr, "demo: the database already holds %d scans; serving it as it is\n", scans)
		}
	}
	secret, tok, err := api.CreateToken(e.ctx, d.db, "demo-admin", []api.Scope{api.Admin}, []string{api.AllTeams}, time.Now().Add(30*24*time.Hour))
	if err != nil {
		return fmt.Errorf("demo admin token: %w", err)
	}
	period := lastQuarter(dataNow)
	listening := make(chan string, 1)
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	go func() {
		select {
		case addr := <-listening:
			base := "http://" + addr
			if e.cfg.Server.TLSCertFile != "" {
				base = "https://" + addr
			}
			page := "/reports/qbr?period=" + period
			fmt.Fprintf(e.stdout, "\nsecmetrics demo is ready\n  dashboard  %s%s\n  login      %s/login?next=%s\n  token      %s\n             (demo admin, every team; expires %s; shown once)\n\n",
				base, page, base, url.QueryEscape(page), secret, tok.Expires.Format("2006-01-02"))
		case <-ctx.Done():
		}
	}()
	return e.serveDB(d, listening)
}

// dropAll drops every table of the database and migrates it again.
func (e *env) dropAll(d *database) error {
	var tables []struct {
		Name string `ch:"name"`
	}
	if err := d.db.Select(e.ctx, &tables, "SELECT name FROM system.tables WHERE database = currentDatabase()"); err != nil {
		return fmt.Errorf("list tables: %w", err)
	}
	for _, t := range tables {
		if !tableName.MatchString(t.Name) {
			return fmt.Errorf("reset: unexpected table name %q", t.Name)
		}
		if err := d.db.Exec(e.ctx, "DROP TABLE IF EXISTS "+t.Name); err != nil {
			return fmt.Errorf("reset: drop %s: %w", t.Name, err)
		}
	}
	if err := d.db.Migrate(e.ctx); err != nil {
		return fmt.Errorf("reset: migrate: %w", err)
	}
	return nil
}

// tableName is what dropAll accepts from system.tables: the names the
// migrations create.
var tableName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

func parseDemoTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("--now: %q is neither RFC 3339 nor YYYY-MM-DD", s)
}

// lastQuarter names the last calendar quarter that ended before t
// ("2026-Q3" on 2026-11-20).
func lastQuarter(t time.Time) string {
	t = t.UTC()
	q := (int(t.Month())-1)/3 + 1
	y := t.Year()
	if q--; q == 0 {
		q, y = 4, y-1
	}
	return fmt.Sprintf("%d-Q%d", y, q)
}
