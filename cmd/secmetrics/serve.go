package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/secmetrics/secmetrics/api"
	"github.com/secmetrics/secmetrics/metrics"
	"github.com/secmetrics/secmetrics/reports"
)

func (e *env) serve(args []string) error {
	fs := newFlags("serve", e.stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	d, err := e.open()
	if err != nil {
		return err
	}
	defer d.Close()
	return e.serveDB(d, nil)
}

// serveDB runs the HTTP service and the pollers on the open database d
// until e.ctx is cancelled (serve and demo share it); listening, when not
// nil, receives the address once the server listens.
func (e *env) serveDB(d *database, listening chan<- string) error {
	ready := func(ctx context.Context) error {
		if err := d.db.Ping(ctx); err != nil {
			return errors.New("clickhouse unreachable")
		}
		pending, err := d.db.Pending(ctx)
		if err != nil {
			return errors.New("clickhouse unreachable")
		}
		if len(pending) > 0 {
			return fmt.Errorf("%d migrations pending", len(pending))
		}
		return nil
	}
	engine, err := metrics.New(d.db, e.cfg.Metrics, e.log)
	if err != nil {
		return err
	}
	rep := reports.New(engine, reports.Options{Version: version, Log: e.log})
	store := e.store(d)
	srv, err := api.New(e.cfg.Server, e.log, ready, api.WithBackend(api.Backend{
		DB: d.db, Metrics: engine, Store: store, Reports: rep,
	}))
	if err != nil {
		return err
	}
	sched, err := reports.NewScheduler(e.cfg.Reports, rep, d.db, reports.SchedulerOptions{Log: e.log})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	if err := sched.Start(ctx); err != nil {
		return err
	}
	defer func() {
		if err := sched.Shutdown(); err != nil {
			e.log.Error("export scheduler shutdown", "err", err)
		}
	}()
	// The scorecards of metrics.precompute are kept computed for the
	// current data (docs/metrics.md, "Precomputed scorecards"). Not on a
	// cluster: the data version reads this server's system.parts only, so
	// a write to another shard would go unseen.
	precomputed := make(chan struct{})
	go func() {
		defer close(precomputed)
		if d.db.Cluster() != "" {
			e.log.Info("precomputed scorecards are off on a cluster (clickhouse.cluster)")
			return
		}
		engine.KeepPrecomputed(ctx)
	}()
	defer func() {
		cancel()
		<-precomputed
	}()
	waitPollers, err := e.startPollers(ctx, store)
	if err != nil {
		return err
	}
	defer func() {
		cancel() // stop the pollers, then wait for them
		waitPollers()
	}()
	return srv.Serve(ctx, listening)
}
