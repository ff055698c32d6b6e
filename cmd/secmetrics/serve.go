package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/secmetrics/secmetrics/api"
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
	srv, err := api.New(e.cfg.Server, e.log, ready)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(e.ctx)
	waitPollers, err := e.startPollers(ctx, e.store(d))
	if err != nil {
		cancel()
		return err
	}
	defer func() {
		cancel() // stop the pollers, then wait for them
		waitPollers()
	}()
	return srv.Serve(ctx, nil)
}
