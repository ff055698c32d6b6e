package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/ingest/epss"
	"github.com/secmetrics/secmetrics/ingest/kev"
	"github.com/secmetrics/secmetrics/ingest/report"
	"github.com/secmetrics/secmetrics/ingest/transport"
)

func (e *env) ingestScan(args []string) error {
	fs := newFlags("ingest scan", e.stderr)
	asset := fs.String("asset", "", "the scanned asset (default: what the report names)")
	scanner := fs.String("scanner", "", "the scanner (default: what the report names)")
	branch := fs.String("branch", "", "the scanned branch")
	at := fs.String("time", "", "scan time, RFC 3339 (default: the report's, else now)")
	format := fs.String("format", "", "report format (default: detected)")
	var kinds multiFlag
	fs.Var(&kinds, "kind", "a kind the scan is complete for (repeatable; default: what the report shows)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	files := fs.Args()
	if len(files) == 0 {
		return errors.New("usage: secmetrics ingest scan [--asset A] [--scanner S] [--branch B] [--time T] [--kind K] FILE...")
	}
	in := ingest.ScanInput{Asset: *asset, Scanner: *scanner, Branch: *branch}
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return fmt.Errorf("--time: %q is not an RFC 3339 time", *at)
		}
		in.Time = t
	}
	for _, k := range kinds {
		kk, err := ingest.ParseKind(k)
		if err != nil {
			return fmt.Errorf("--kind: %w", err)
		}
		in.Kinds = append(in.Kinds, kk)
	}
	d, err := e.open()
	if err != nil {
		return err
	}
	defer d.Close()
	store := e.store(d)
	failed := 0
	for _, name := range files {
		sum, err := e.scanFile(store, in, name, *format)
		if err != nil {
			// Each file is applied whole or not at all: report and go on.
			fmt.Fprintf(e.stderr, "%s: rejected: %s\n", name, strings.TrimPrefix(err.Error(), name+": "))
			failed++
			continue
		}
		note := ""
		switch {
		case sum.Duplicate:
			note = " (already ingested: nothing changed)"
		case !sum.Counted:
			note = fmt.Sprintf(" (branch %q does not drive the lifecycle: recorded only)", sum.Branch)
		case sum.Late:
			note = " (older than the newest scan of its scope: fixes and reopens nothing)"
		}
		fmt.Fprintf(e.stdout, "%s: %s %s on %s: %d findings: %d new, %d fixed, %d reopened, %d unchanged%s\n",
			name, sum.Format, sum.Scanner, sum.Asset, sum.Findings, sum.New, sum.Fixed, sum.Reopened, sum.Unchanged, note)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files rejected", failed, len(files))
	}
	return nil
}

func (e *env) scanFile(store *ingest.Store, in ingest.ScanInput, name, format string) (ingest.Summary, error) {
	f, err := os.Open(name)
	if err != nil {
		return ingest.Summary{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ingest.Summary{}, err
	}
	if st.Size() > e.cfg.Ingest.MaxFileBytes {
		return ingest.Summary{}, fmt.Errorf("%d bytes is more than ingest.max_file_bytes (%d)", st.Size(), e.cfg.Ingest.MaxFileBytes)
	}
	var r io.Reader = f
	if isTerminal(e.stderr) && st.Size() > 1<<20 {
		bar := progressbar.DefaultBytes(st.Size(), name)
		defer bar.Close()
		r = io.TeeReader(f, bar)
	}
	ft, body, err := report.Open(r, format)
	if err != nil {
		return ingest.Summary{}, err
	}
	in.Name, in.Parser, in.Format, in.Body = name, ft.Parser, ft.Name, body
	return store.IngestScan(e.ctx, in)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// openSource opens a file path or an http(s) URL, bounded to max bytes.
func (e *env) openSource(src string, max int64) (io.ReadCloser, error) {
	if strings.HasPrefix(src, "https://") || strings.HasPrefix(src, "http://") {
		client := &http.Client{Timeout: 5 * time.Minute, Transport: &transport.Transport{}}
		req, err := http.NewRequestWithContext(e.ctx, http.MethodGet, src, nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("GET %s: %s", req.URL.Redacted(), resp.Status)
		}
		return struct {
			io.Reader
			io.Closer
		}{io.LimitReader(resp.Body, max), resp.Body}, nil
	}
	return os.Open(src)
}

func (e *env) ingestKEV(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: secmetrics ingest kev FILE|URL")
	}
	r, err := e.openSource(args[0], 256<<20)
	if err != nil {
		return err
	}
	defer r.Close()
	var entries []ingest.KEVEntry
	cat, err := kev.Read(e.ctx, r, func(en kev.Entry) error {
		entries = append(entries, ingest.KEVEntry{CVE: en.CVE, DateAdded: en.DateAdded, DueDate: en.DueDate, Ransomware: en.Ransomware,
			VendorProject: en.VendorProject, Product: en.Product, Name: en.Name})
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	d, err := e.open()
	if err != nil {
		return err
	}
	defer d.Close()
	store := e.store(d)
	if err := store.SaveKEV(e.ctx, cat.Version, entries); err != nil {
		return err
	}
	if err := store.Succeeded(e.ctx, "kev", "kev", cat.Released, uint64(len(entries))); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "kev catalog %s: %d entries\n", cat.Version, len(entries))
	return nil
}

func (e *env) ingestEPSS(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: secmetrics ingest epss FILE|URL")
	}
	r, err := e.openSource(args[0], 512<<20)
	if err != nil {
		return err
	}
	defer r.Close()
	var scores []ingest.EPSSScore
	hdr, err := epss.Read(e.ctx, r, func(s epss.Score) error {
		scores = append(scores, ingest.EPSSScore{CVE: s.CVE, EPSS: s.EPSS, Percentile: s.Percentile})
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	d, err := e.open()
	if err != nil {
		return err
	}
	defer d.Close()
	store := e.store(d)
	if err := store.SaveEPSS(e.ctx, hdr.ScoreDate, hdr.ModelVersion, scores); err != nil {
		return err
	}
	if err := store.Succeeded(e.ctx, "epss", "epss", hdr.ScoreDate, uint64(len(scores))); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "epss scores of %s (model %s): %d CVEs\n", hdr.ScoreDate.Format("2006-01-02"), hdr.ModelVersion, len(scores))
	return nil
}
