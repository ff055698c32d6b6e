package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/secmetrics/secmetrics/ingest/jira"
)

func (e *env) ingestJira(args []string) error {
	fs := newFlags("ingest jira", e.stderr)
	since := fs.String("since", "", "pull tickets updated since this time (RFC 3339) instead of the stored watermark")
	dry := fs.Bool("dry-run", false, "print what the mapping would produce (tickets per kind and team, values that map to nothing); write nothing")
	renorm := fs.Bool("renormalize", false, "re-apply the mapping to the stored raw issues without fetching")
	var instances multiFlag
	fs.Var(&instances, "instance", "pull only this instance (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return errors.New("usage: secmetrics ingest jira [--since T] [--dry-run] [--renormalize] [--instance NAME]")
	}
	if len(e.cfg.Jira.Instances) == 0 {
		return errors.New("no jira.instances configured (docs/jira.md)")
	}
	if *renorm && (*dry || *since != "") {
		return errors.New("--renormalize re-maps stored issues: it takes neither --dry-run nor --since")
	}
	opts := jira.Options{DryRun: *dry, Out: e.stdout, Instances: instances}
	if *since != "" {
		t, err := time.Parse(time.RFC3339, *since)
		if err != nil {
			return fmt.Errorf("--since: %q is not an RFC 3339 time", *since)
		}
		opts.Since = t
	}
	d, err := e.open()
	if err != nil {
		return err
	}
	defer d.Close()
	src, err := jira.New(e.cfg.Jira, e.store(d), e.log)
	if err != nil {
		return err
	}
	var sum jira.Summary
	if *renorm {
		sum, err = src.Renormalize(e.ctx)
	} else {
		sum, err = src.Pull(e.ctx, opts)
	}
	if !*dry {
		fmt.Fprintf(e.stdout, "jira: %d pages, %d tickets, %d transitions, %d worklogs; findings: %d new, %d fixed, %d reopened, %d unchanged; %d vulnerability tickets without an asset; %d unmapped values\n",
			sum.Pages, sum.Tickets, sum.Transitions, sum.Worklogs, sum.Findings.New, sum.Findings.Fixed, sum.Findings.Reopened,
			sum.Findings.Unchanged, sum.NoAsset, sum.Unmapped)
	}
	return err
}
