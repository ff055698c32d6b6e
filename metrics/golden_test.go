package metrics_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/secmetrics/secmetrics/metrics"
	"github.com/secmetrics/secmetrics/queries"
	"github.com/secmetrics/secmetrics/queries/chtest"
)

var update = flag.Bool("update", false, "rewrite golden files (fixtures/*/expected.json, docs/metrics.md) from the current results")

// Scenario is a golden scenario: source inputs written through the ingest
// code, rows for tables no ingest path writes, configuration and queries
// (fixtures/<name>/scenario.yaml); its expected results are in
// fixtures/<name>/expected.json and explained in fixtures/<name>/README.md.
type Scenario struct {
	Description string          `yaml:"description"`
	Now         time.Time       `yaml:"now"`
	Config      metrics.Config  `yaml:"config"`
	Inputs      Inputs          `yaml:"inputs"`
	Tables      Rows            `yaml:"tables"`
	Queries     []ScenarioQuery `yaml:"queries"`
}

// ScenarioQuery is one KPI computation, scorecard or list of a scenario.
type ScenarioQuery struct {
	Name string `yaml:"name"`
	// Exactly one of KPI, Scorecard and List.
	KPI       string         `yaml:"kpi"`
	Scorecard bool           `yaml:"scorecard"`
	List      string         `yaml:"list"` // overdue_findings, overdue_teams, uncovered_assets, noisiest_rules, exploitable_findings
	Period    string         `yaml:"period"`
	Compare   bool           `yaml:"compare"`
	Trend     int            `yaml:"trend"`
	GroupBy   string         `yaml:"group_by"`
	Filter    metrics.Filter `yaml:"filter"`
	Scope     []string       `yaml:"scope"`
	Limit     int            `yaml:"limit"`
}

func TestMain(m *testing.M) { chtest.Main(m) }

func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("../fixtures/*/scenario.yaml")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no scenarios under fixtures/: %v", err)
	}
	for _, path := range dirs {
		dir := filepath.Dir(path)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			runScenario(t, dir)
		})
	}
}

func runScenario(t *testing.T, dir string) {
	sc, db := loadScenario(t, dir)
	e, err := metrics.New(db, sc.Config, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.Now = func() time.Time { return sc.Now }
	got := map[string]any{}
	ctx := context.Background()
	for _, q := range sc.Queries {
		p, err := e.ParsePeriod(q.Period)
		if err != nil {
			t.Fatalf("%s: %v", q.Name, err)
		}
		scope := metrics.Scope{Teams: q.Scope}
		lq := metrics.ListQuery{Period: p, Filter: q.Filter, Scope: scope, Limit: q.Limit}
		var res any
		switch {
		case q.KPI != "":
			res, err = e.Compute(ctx, metrics.Query{KPI: q.KPI, Period: p, Compare: q.Compare, Trend: q.Trend, GroupBy: q.GroupBy, Filter: q.Filter, Scope: scope})
		case q.Scorecard:
			res, err = e.Scorecard(ctx, metrics.ScorecardQuery{Period: p, GroupBy: q.GroupBy, Filter: q.Filter, Scope: scope})
		case q.List == "overdue_findings":
			res, err = e.OverdueFindings(ctx, lq)
		case q.List == "overdue_teams":
			res, err = e.OverdueTeams(ctx, lq)
		case q.List == "uncovered_assets":
			res, err = e.UncoveredAssets(ctx, lq)
		case q.List == "noisiest_rules":
			res, err = e.NoisiestRules(ctx, lq)
		case q.List == "exploitable_findings":
			res, err = e.ExploitableFindings(ctx, lq)
		default:
			t.Fatalf("%s: want kpi, scorecard or a known list", q.Name)
		}
		if err != nil {
			t.Fatalf("%s: %v", q.Name, err)
		}
		got[q.Name] = res
	}
	checkGolden(t, filepath.Join(dir, "expected.json"), got)
	checkPrecomputed(t, e, sc)
}

// loadScenario reads the scenario in dir and loads its data into a new
// test database.
func loadScenario(t *testing.T, dir string) (Scenario, *queries.DB) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "scenario.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var sc Scenario
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&sc); err != nil {
		t.Fatalf("scenario.yaml: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
		t.Errorf("scenario has no README.md explaining its numbers")
	}
	db := chtest.New(t)
	load(t, db, sc.Tables)
	ingestInputs(t, db, sc.Inputs)
	return sc, db
}

// checkGolden compares v, as indented JSON, with the golden file; -update
// rewrites it. A missing golden file fails.
func checkGolden(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	if *update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file: %v (run go test ./metrics -run %s -update to create it, then check it by hand)", err, t.Name())
	}
	if diff := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(string(b), "\n")); diff != "" {
		t.Errorf("%s differs from the result (-want +got):\n%s", path, diff)
	}
}
