package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/metrics"
	"github.com/secmetrics/secmetrics/queries"
	"github.com/secmetrics/secmetrics/queries/chtest"
)

// TestLoad drives the scorecard and the drill-down lists with 32
// concurrent clients over loopback HTTP against a generated data set and
// prints p50/p99 latency and throughput. Opt-in:
//
//	SECMETRICS_LOAD=1 go test ./api -run TestLoad -v -timeout 60m
//
// SECMETRICS_LOAD_FINDINGS (default 1,000,000), SECMETRICS_LOAD_SECONDS
// (per phase, default 60) and SECMETRICS_LOAD_CLIENTS (default 32) adjust
// it.
func TestLoad(t *testing.T) {
	if os.Getenv("SECMETRICS_LOAD") == "" {
		t.Skip("opt-in: SECMETRICS_LOAD=1")
	}
	n := envInt("SECMETRICS_LOAD_FINDINGS", 1_000_000)
	secs := envInt("SECMETRICS_LOAD_SECONDS", 60)
	clients := envInt("SECMETRICS_LOAD_CLIENTS", 32)
	db, _ := chtest.NewWithConfig(t, func(c *queries.Config) { c.MaxOpenConns = clients + 8; c.QueryTimeout = 10 * time.Minute })
	start := time.Now()
	gen := generate(t, db, n)
	t.Logf("data: %d findings, %d events, %d assets, %d teams, generated in %s", n, gen.events, gen.assets, gen.teams, time.Since(start).Round(time.Second))

	run := func(name string, clients int, cacheTTL time.Duration, paths func(c int, i int, prev string) string) {
		cfg := Defaults()
		cfg.Listen = "127.0.0.1:0"
		cfg.RateLimit, cfg.RateBurst = 100000, 100000
		cfg.CacheTTL = cacheTTL
		cfg.RequestTimeout = 10 * time.Minute
		eng, err := metrics.New(db, metrics.Config{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Date(2026, 10, 15, 0, 0, 0, 0, time.UTC)
		eng.Now = func() time.Time { return now }
		logs := &syncBuffer{}
		srv, err := New(cfg, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})), nil, WithClock(func() time.Time { return now }),
			WithBackend(Backend{DB: db, Metrics: eng, Store: ingest.NewStore(db, nil)}))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		ready := make(chan string, 1)
		done := make(chan error, 1)
		go func() { done <- srv.Serve(ctx, ready) }()
		addr := <-ready
		tokens := make([]string, clients)
		for i := range tokens {
			teams := []string{"*"}
			if i%2 == 1 {
				teams = []string{fmt.Sprintf("team-%02d", i%gen.teams)}
			}
			tokens[i], _, err = CreateToken(context.Background(), db, fmt.Sprintf("load-%d-%d", time.Now().UnixNano(), i), []Scope{ReadKPIs, ReadFindings}, teams, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
		}
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, DisableCompression: false}, Timeout: 15 * time.Minute}
		var mu sync.Mutex
		var lat []time.Duration
		statuses := map[int]int{}
		var bytes int64
		deadline := time.Now().Add(time.Duration(secs) * time.Second)
		var wg sync.WaitGroup
		phaseStart := time.Now()
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func(c int) {
				defer wg.Done()
				prev := ""
				for i := 0; time.Now().Before(deadline); i++ {
					req, _ := http.NewRequest("GET", "http://"+addr+paths(c, i, prev), nil)
					req.Header.Set("Authorization", "Bearer "+tokens[c])
					t0 := time.Now()
					resp, err := client.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					d := time.Since(t0)
					var pg struct {
						Next string `json:"next_cursor"`
					}
					_ = json.Unmarshal(body, &pg)
					prev = pg.Next
					mu.Lock()
					lat = append(lat, d)
					statuses[resp.StatusCode]++
					bytes += int64(len(body))
					mu.Unlock()
				}
			}(c)
		}
		wg.Wait()
		el := time.Since(phaseStart)
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		slices.Sort(lat)
		pct := func(p float64) time.Duration {
			if len(lat) == 0 {
				return 0
			}
			return lat[int(p*float64(len(lat)-1))]
		}
		t.Logf("%-22s %d clients, %s: %d requests, %.1f req/s, p50 %s, p99 %s, max %s, statuses %v, %.1f MB",
			name, clients, el.Round(time.Second), len(lat), float64(len(lat))/el.Seconds(), pct(0.5).Round(time.Millisecond),
			pct(0.99).Round(time.Millisecond), pct(1).Round(time.Millisecond), statuses, float64(bytes)/1e6)
		if statuses[200] != len(lat) {
			t.Errorf("%s: not every request succeeded: %v\n%.2000s", name, statuses, logs.String())
		}
	}
	periods := []string{"2026-Q3", "2026-Q2", "2026-Q1", "2025-Q4"}
	scorecard := func(c, i int, _ string) string {
		return "/api/v1/scorecard?period=" + periods[(c+i)%len(periods)]
	}
	drill := func(c, i int, prev string) string {
		switch i % 4 {
		case 0:
			return "/api/v1/findings?state=open&severity=critical&sort=-first_seen&limit=100"
		case 1:
			if prev != "" {
				return "/api/v1/findings?state=open&severity=critical&sort=-first_seen&limit=100&cursor=" + prev
			}
			return "/api/v1/findings?overdue=true&sort=due&limit=100"
		case 2:
			return fmt.Sprintf("/api/v1/findings?team=team-%02d&overdue=true&sort=due&limit=100", (c+i)%gen.teams)
		}
		if c%2 == 1 { // a team-scoped client: its team's open findings
			return "/api/v1/findings?state=open&sort=-severity&limit=100"
		}
		return "/api/v1/findings/" + gen.ids[(c*7919+i)%len(gen.ids)]
	}
	t.Logf("machine: %d CPUs (GOMAXPROCS %d), %s/%s", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH)
	run("drill-down (1 client)", 1, 0, drill)
	run("drill-down (cached)", clients, time.Minute, drill)
	run("drill-down (uncached)", clients, 0, drill)
	run("scorecard (1 client)", 1, 0, scorecard)
	run("scorecard (cached)", clients, time.Minute, scorecard)
	run("scorecard (uncached)", clients, 0, scorecard)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

type generated struct {
	events, assets, teams int
	ids                   []string // a sample of finding ids
}

// generate writes n findings on 2,000 assets of 20 teams, first seen over
// 2025-01-01 … 2026-09-30, 45 % of them fixed within 1–200 days, with
// their detected and fixed events, and a recent scan run per asset.
func generate(t *testing.T, db *queries.DB, n int) generated {
	t.Helper()
	ctx := context.Background()
	g := generated{assets: 2000, teams: 20}
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	span := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC).Sub(base)
	sevs := []string{"critical", "high", "high", "medium", "medium", "medium", "low", "low", "info"}
	kinds := []string{"sast", "sca"}
	insert := func(table, cols string, rows [][]any) {
		if err := insertRows(ctx, db, table, cols, rows); err != nil {
			t.Fatal(err)
		}
	}
	var arows [][]any
	for a := 0; a < g.assets; a++ {
		arows = append(arows, []any{fmt.Sprintf("repo-%04d", a), time.Unix(0, 0).UTC(), fmt.Sprintf("team-%02d", a%g.teams),
			fmt.Sprintf("bu-%d", a%5), uint8(1 + a%4), "repository", uint8(1), uint8(0), "", "", "production", []string{}, "csv", uint8(1), base})
	}
	insert("assets", queries.SQL("ingest/assets.columns"), arows)
	var srows [][]any
	for a := 0; a < g.assets; a++ {
		for _, k := range kinds {
			srows = append(srows, []any{uuid.New(), fmt.Sprintf("repo-%04d", a), "scanner-" + k, "1.0", "sarif", []string{k}, "main", "",
				time.Date(2026, 9, 20+a%10, 0, 0, 0, 0, time.UTC), uint8(1), uint8(0), uint8(0), "", "", uint32(0), uint32(0), uint32(0), uint32(0), uint32(0), "ok", "", base})
		}
	}
	insert("scan_runs", queries.SQL("ingest/scan_runs.columns"), srows)
	const chunk = 100_000
	for start := 0; start < n; start += chunk {
		var frows, erows [][]any
		for i := start; i < min(n, start+chunk); i++ {
			id := uuid.New()
			if len(g.ids) < 10000 {
				g.ids = append(g.ids, id.String())
			}
			asset := fmt.Sprintf("repo-%04d", rng.IntN(g.assets))
			kind := kinds[i%2]
			sev := sevs[rng.IntN(len(sevs))]
			first := base.Add(time.Duration(rng.Int64N(int64(span)))).Truncate(time.Second)
			state, fixed := "open", time.Unix(0, 0).UTC()
			if rng.IntN(100) < 45 {
				fixed = first.Add(time.Duration(1+rng.IntN(200)) * 24 * time.Hour)
				if fixed.Before(span2026()) {
					state = "fixed"
				} else {
					fixed = time.Unix(0, 0).UTC()
				}
			}
			scanner := "scanner-" + kind
			frows = append(frows, []any{id, uint64(1), "scan", asset, scanner, kind, fmt.Sprintf("fp-%d", i), "test", fmt.Sprintf("rule-%d", i%500),
				"title", sev, sev, "", []string{}, "", "", "", "file.go", uint32(1), []string{"main"}, 0.0, 0.0, uint8(0), uint8(0), state,
				"none", "", time.Unix(0, 0).UTC(), "", first, first, fixed, uuid.Nil, "", first})
			erows = append(erows, []any{id, first, "detected", sev, "none", time.Unix(0, 0).UTC(), asset, scanner, kind, "scan", uuid.Nil, "", "", first})
			if state == "fixed" {
				erows = append(erows, []any{id, fixed, "fixed", sev, "none", time.Unix(0, 0).UTC(), asset, scanner, kind, "scan", uuid.Nil, "", "", fixed})
			}
		}
		insert("findings", queries.SQL("ingest/findings.columns"), frows)
		insert("finding_events", queries.SQL("ingest/finding_events.columns"), erows)
		g.events += len(erows)
	}
	// Events inserted directly: derive finding_intervals as a bulk load does.
	if _, err := ingest.NewStore(db, nil).RebuildIntervals(context.Background()); err != nil {
		t.Fatal(err)
	}
	return g
}

func span2026() time.Time { return time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC) }
