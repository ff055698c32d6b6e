package main

import (
	"context"
	"sync"
	"time"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/ingest/jira"
)

// startPollers starts the scheduled pulls that serve runs: GitHub, each
// Jira configuration and each alert source with a poll interval. A failed
// pull is logged and recorded in the source's ingest state, then retried at
// the next interval; it never stops the service. The returned function
// waits for every poller to return after ctx is cancelled.
func (e *env) startPollers(ctx context.Context, store *ingest.Store) (wait func(), err error) {
	var wg sync.WaitGroup
	run := func(name string, fn func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.log.Info("poller started", "source", name)
			fn()
		}()
	}
	if g := e.cfg.GitHub; g.Interval > 0 && (len(g.Orgs) > 0 || len(g.Repos) > 0) {
		run("github", func() {
			t := time.NewTimer(0)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				pe := *e
				pe.ctx = ctx
				if err := pe.pullGitHub(store); err != nil && ctx.Err() == nil {
					e.log.Error("github poll failed", "err", err)
				}
				t.Reset(g.Interval)
			}
		})
	}
	if e.cfg.Jira.PollInterval > 0 && len(e.cfg.Jira.Instances) > 0 {
		src, err := jira.New(e.cfg.Jira, store, e.log)
		if err != nil {
			return nil, err
		}
		run("jira", func() { _ = src.Poll(ctx, 0) })
	}
	srcs, err := e.alertSources(store)
	if err != nil {
		return nil, err
	}
	for _, s := range srcs {
		if s.every <= 0 || s.pull == nil {
			continue
		}
		run(s.name, func() { _ = ingest.PollAlerts(ctx, s.every, e.log, s.name, s.pull) })
	}
	return wg.Wait, nil
}
