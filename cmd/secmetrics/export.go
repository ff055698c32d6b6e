package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/secmetrics/secmetrics/metrics"
	"github.com/secmetrics/secmetrics/reports"
)

const exportUsage = `usage:
  secmetrics export qbr [--period P] [--team T]... [--format xlsx|csv] -o FILE
  secmetrics export run NAME
  secmetrics export runs [-n N]`

// export writes reports from the command line (docs/reports.md): the QBR
// workbook or scorecard CSV of a period to a file, one scheduled export
// now, or the latest export runs.
func (e *env) export(args []string) error {
	if len(args) == 0 {
		return errors.New(exportUsage)
	}
	switch args[0] {
	case "qbr":
		return e.exportQBR(args[1:])
	case "run":
		return e.exportRun(args[1:])
	case "runs":
		return e.exportRuns(args[1:])
	}
	return fmt.Errorf("unknown export command %q\n%s", args[0], exportUsage)
}

// reporter opens the database and returns the reports over it, with the
// configured metrics (reporting time zone, fiscal year, targets, SLA).
func (e *env) reporter() (*database, *reports.Reports, error) {
	d, err := e.open()
	if err != nil {
		return nil, nil, err
	}
	m, err := metrics.New(d.db, e.cfg.Metrics, e.log)
	if err != nil {
		d.Close()
		return nil, nil, err
	}
	return d, reports.New(m, reports.Options{Version: version, Log: e.log}), nil
}

func (e *env) exportQBR(args []string) error {
	fs := newFlags("export qbr", e.stderr)
	period := fs.String("period", "", "period: 2026-Q3, 2026-09, 2026-W38 or FROM/TO (default: the last complete quarter)")
	var teams multiFlag
	fs.Var(&teams, "team", "restrict to a team (repeatable)")
	format := fs.String("format", "", "xlsx (the QBR workbook) or csv (the scorecard); default from the file name")
	out := fs.String("o", "", "output file (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() != 0 {
		return errors.New(exportUsage)
	}
	if *format == "" {
		*format = "xlsx"
		if strings.EqualFold(filepath.Ext(*out), ".csv") {
			*format = "csv"
		}
	}
	if *format != "xlsx" && *format != "csv" {
		return fmt.Errorf("--format %q: want xlsx or csv", *format)
	}
	d, r, err := e.reporter()
	if err != nil {
		return err
	}
	defer d.Close()
	q := reports.WorkbookQuery{Filter: metrics.Filter{Teams: teams}}
	if *period != "" {
		if q.Period, err = r.ParsePeriod(*period); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	if *format == "csv" {
		err = r.ScorecardCSV(e.ctx, &buf, q)
	} else {
		err = r.Workbook(e.ctx, &buf, q)
	}
	if err != nil {
		return err
	}
	if err := writeAtomic(*out, buf.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s (%d bytes)\n", *out, buf.Len())
	return nil
}

// writeAtomic writes b to path through a temporary file in the same
// directory, so the file is never seen half written.
func writeAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".secmetrics-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func (e *env) exportRun(args []string) error {
	fs := newFlags("export run", e.stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New(exportUsage)
	}
	cfg := e.cfg.Reports
	if len(cfg.Exports) == 0 {
		return errors.New("no reports.exports configured (docs/reports.md)")
	}
	d, r, err := e.reporter()
	if err != nil {
		return err
	}
	defer d.Close()
	s, err := reports.NewScheduler(cfg, r, d.db, reports.SchedulerOptions{Log: e.log})
	if err != nil {
		return err
	}
	run, err := s.RunNow(e.ctx, fs.Arg(0))
	if run.ID != "" {
		fmt.Fprintf(e.stdout, "export %s: %s, period %s, %s (%d bytes) to %s in %.1f s\n",
			run.Export, run.Status, run.Period, run.File, run.Size, orNone(run.Destination), run.Duration)
	}
	return err
}

func (e *env) exportRuns(args []string) error {
	fs := newFlags("export runs", e.stderr)
	n := fs.Int("n", 20, "how many runs, newest first")
	if err := fs.Parse(args); err != nil {
		return err
	}
	d, err := e.open()
	if err != nil {
		return err
	}
	defer d.Close()
	runs, err := reports.ListRuns(e.ctx, d.db, *n)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STARTED\tEXPORT\tATTEMPT\tSTATUS\tPERIOD\tSECONDS\tSIZE\tFILE\tERROR")
	for _, r := range runs {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%.0f\t%d\t%s\t%s\n", r.StartedAt.Format("2006-01-02 15:04:05Z"), r.Export, r.Attempt,
			r.Status, r.Period, r.Duration, r.Size, r.File, r.Error)
	}
	return tw.Flush()
}

func orNone(s string) string {
	if s == "" {
		return "no destination"
	}
	return s
}
