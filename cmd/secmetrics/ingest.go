package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/ingest/inventory"
)

func (e *env) ingest(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: secmetrics ingest inventory|scan|kev|epss|github|jira|alerts|rebuild-intervals ...")
	}
	switch args[0] {
	case "inventory":
		return e.ingestInventory(args[1:])
	case "scan":
		return e.ingestScan(args[1:])
	case "kev":
		return e.ingestKEV(args[1:])
	case "epss":
		return e.ingestEPSS(args[1:])
	case "jira":
		return e.ingestJira(args[1:])
	case "alerts":
		return e.ingestAlerts(args[1:])
	case "rebuild-intervals":
		if len(args) != 1 {
			return errors.New("usage: secmetrics ingest rebuild-intervals")
		}
		d, err := e.open()
		if err != nil {
			return err
		}
		defer d.Close()
		n, err := e.store(d).RebuildIntervals(e.ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "finding_intervals rebuilt: %d findings\n", n)
		return nil
	case "github":
		if len(args) != 1 {
			return errors.New("usage: secmetrics ingest github")
		}
		d, err := e.open()
		if err != nil {
			return err
		}
		defer d.Close()
		return e.pullGitHub(e.store(d))
	}
	return fmt.Errorf("unknown ingest source %q", args[0])
}

// store returns an ingest store configured from the config.
func (e *env) store(d *database) *ingest.Store {
	s := ingest.NewStore(d.db, e.log)
	s.Branches = e.cfg.Ingest.Branches
	s.Dispositions = e.cfg.Ingest.dispositions()
	s.Owner = e.cfg.Inventory.Owner
	return s
}

func (e *env) ingestInventory(args []string) error {
	fs := newFlags("ingest inventory", e.stderr)
	source := fs.String("source", "", `inventory source name; assets of this source missing from the files become inactive (default "backstage" for YAML, "csv" for CSV)`)
	asOf := fs.String("as-of", "", "time the inventory describes (RFC 3339; default now)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	files := fs.Args()
	if len(files) == 0 {
		return errors.New("usage: secmetrics ingest inventory [--source NAME] [--as-of T] FILE...")
	}
	at := time.Now().UTC()
	if *asOf != "" {
		t, err := time.Parse(time.RFC3339, *asOf)
		if err != nil {
			return fmt.Errorf("--as-of: %q is not an RFC 3339 time", *asOf)
		}
		at = t
	}
	var assets []ingest.Asset
	yamls := map[string][]byte{}
	kind := ""
	for _, f := range files {
		ext := strings.ToLower(filepath.Ext(f))
		k := "csv"
		if ext == ".yaml" || ext == ".yml" {
			k = "backstage"
		} else if ext != ".csv" {
			return fmt.Errorf("%s: want a Backstage .yaml/.yml file or a .csv file", f)
		}
		if kind != "" && kind != k {
			return errors.New("import Backstage files and CSV files in separate runs (each is its own inventory source)")
		}
		kind = k
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if k == "backstage" {
			yamls[f] = data
			continue
		}
		as, err := inventory.ReadCSV(f, strings.NewReader(string(data)))
		if err != nil {
			return err
		}
		assets = append(assets, as...)
	}
	if len(yamls) > 0 {
		as, err := e.cfg.Inventory.ReadBackstage(yamls)
		if err != nil {
			return err
		}
		assets = as
	}
	if *source == "" {
		*source = kind
	}
	d, err := e.open()
	if err != nil {
		return err
	}
	defer d.Close()
	sum, err := e.store(d).ImportInventory(e.ctx, *source, assets, at)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "inventory %s: %d assets: %d added, %d changed, %d deactivated, %d unchanged\n",
		*source, sum.Assets, sum.Added, sum.Changed, sum.Deactivated, sum.Unchanged)
	return nil
}
