package inventory_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/ingest/inventory"
	"github.com/secmetrics/secmetrics/queries/chtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

func readBackstage(t *testing.T) []ingest.Asset {
	t.Helper()
	data, err := os.ReadFile("testdata/catalog-info.yaml")
	if err != nil {
		t.Fatal(err)
	}
	assets, err := inventory.Defaults().ReadBackstage(map[string][]byte{"catalog-info.yaml": data})
	if err != nil {
		t.Fatal(err)
	}
	return assets
}

func TestReadBackstage(t *testing.T) {
	want := []ingest.Asset{
		{Name: "github.com/acme/payments-api", Team: "payments", BusinessUnit: "retail", Tier: 1, Kind: "repository", Active: true,
			InternetFacing: true, Owner: "group:default/payments", System: "payments", Lifecycle: "production", Tags: []string{"java", "pci"}},
		{Name: "github.com/acme/payments-legacy", Team: "payments", BusinessUnit: "retail", Tier: 3, Kind: "repository", Active: false,
			Owner: "payments", Lifecycle: "deprecated", Tags: []string{"tier-3"}},
		{Name: "ghcr.io/acme/payments-api", Team: "payments", BusinessUnit: "retail", Kind: "image", Active: true, Owner: "group:payments", Tags: []string{}},
	}
	if diff := cmp.Diff(want, readBackstage(t)); diff != "" {
		t.Fatalf("assets (-want +got):\n%s", diff)
	}
}

func TestReadBackstageErrors(t *testing.T) {
	for name, tc := range map[string]struct{ doc, want string }{
		"bad yaml":      {"kind: [", "c.yaml: document 1:"},
		"not backstage": {"apiVersion: v1\nkind: Pod\nmetadata: {name: x}", `c.yaml: document 1: apiVersion "v1" is not a Backstage entity`},
		"bad tier": {"apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: a\n  annotations: {secmetrics.io/tier: gold}\nspec: {owner: x}",
			`c.yaml: document 1 (a): annotation secmetrics.io/tier: tier "gold" is not 1 to 4`},
		"duplicate": {"apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: a}\n---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: a}",
			`c.yaml: document 2: asset "a" already defined at c.yaml: document 1`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := inventory.Defaults().ReadBackstage(map[string][]byte{"c.yaml": []byte(tc.doc)})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestReadCSV(t *testing.T) {
	f, err := os.Open("testdata/assets.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := inventory.ReadCSV("assets.csv", f)
	if err != nil {
		t.Fatal(err)
	}
	want := []ingest.Asset{
		{Name: "github.com/acme/checkout", Team: "checkout", BusinessUnit: "Retail", Tier: 2, Kind: "repository", Active: true, Tags: []string{}},
		{Name: "github.com/acme/search", Team: "search", BusinessUnit: "Platform", Tier: 1, Kind: "repository", Active: true, InternetFacing: true, Tags: []string{}},
		{Name: "github.com/acme/old-batch", Team: "data", BusinessUnit: "Platform", Kind: "repository", Active: false, Tags: []string{}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("assets (-want +got):\n%s", diff)
	}
	for csvText, wantErr := range map[string]string{
		"asset,owner\na,b\n":      `x.csv: line 1: unknown column "owner"`,
		"team\nx\n":               "x.csv: line 1: the asset column is required",
		"asset,tier\na,1\nb,9\n":  `x.csv: line 3: tier "9" is not 1 to 4`,
		"asset,active\na,maybe\n": `x.csv: line 2: active: "maybe" is not true or false`,
		"asset\na\na\n":           `x.csv: line 3: asset "a" already on line 2`,
		"asset,team\na,x\nb\n":    "x.csv: line 3: 1 fields, header has 2",
	} {
		if _, err := inventory.ReadCSV("x.csv", strings.NewReader(csvText)); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("ReadCSV(%q) error = %v, want %q", csvText, err, wantErr)
		}
	}
}

func TestRules(t *testing.T) {
	c := inventory.Config{Rules: []inventory.Rule{
		{Prefix: "github.com/acme/pay", Team: "payments"},
		{Regex: `^ghcr\.io/acme/search-`, Team: "search"},
	}}
	if errs := c.Check("inventory"); len(errs) != 0 {
		t.Fatal(errs)
	}
	for asset, want := range map[string]string{"github.com/acme/payments-x": "payments", "ghcr.io/acme/search-api": "search", "github.com/acme/other": ""} {
		if got, _ := c.Owner(asset); got != want {
			t.Errorf("Owner(%q) = %q, want %q", asset, got, want)
		}
	}
	bad := inventory.Config{Rules: []inventory.Rule{{Regex: "("}, {Prefix: "a", Regex: "b", Team: "t"}}}
	errs := bad.Check("inventory")
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	got := strings.Join(msgs, "\n")
	for _, want := range []string{"inventory.rules[0].team: required", "inventory.rules[0].regex:", "inventory.rules[1]: set prefix or regex, not both"} {
		if !strings.Contains(got, want) {
			t.Errorf("Check errors lack %q:\n%s", want, got)
		}
	}
}

// TestImportTwiceAndRemoval imports the same inventory twice (nothing
// changes), then one without an asset (it becomes inactive from then).
func TestImportTwiceAndRemoval(t *testing.T) {
	db := chtest.New(t)
	s := ingest.NewStore(db, nil)
	ctx := context.Background()
	assets := readBackstage(t)
	t1 := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	sum, err := s.ImportInventory(ctx, "backstage", assets, t1)
	if err != nil || sum.Added != 3 {
		t.Fatalf("first import = %+v, %v", sum, err)
	}
	rowsBefore := count(t, db)
	sum, err = s.ImportInventory(ctx, "backstage", assets, t1.Add(time.Hour))
	if err != nil || sum.Unchanged != 3 || sum.Added+sum.Changed+sum.Deactivated != 0 {
		t.Fatalf("second import = %+v, %v", sum, err)
	}
	if n := count(t, db); n != rowsBefore {
		t.Fatalf("re-import wrote rows: %d before, %d after", rowsBefore, n)
	}
	t3 := time.Date(2026, 9, 15, 0, 0, 0, 0, time.UTC)
	sum, err = s.ImportInventory(ctx, "backstage", assets[:2], t3)
	if err != nil || sum.Deactivated != 1 || sum.Unchanged != 2 {
		t.Fatalf("import without the image = %+v, %v", sum, err)
	}
	// As of before t3 the image is active; from t3 on it is inactive; it
	// is never deleted.
	type row struct {
		Active uint8 `ch:"active"`
	}
	for at, want := range map[time.Time]uint8{t3.Add(-time.Second): 1, t3.Add(time.Second): 0} {
		var rows []row
		if err := db.Select(ctx, &rows, `SELECT argMax(active, valid_from) AS active FROM assets
			WHERE asset = 'ghcr.io/acme/payments-api' AND valid_from < ? GROUP BY asset`, at); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].Active != want {
			t.Errorf("active as of %s = %+v, want %d", at, rows, want)
		}
	}
}

func count(t *testing.T, db interface {
	QueryRow(context.Context, string, []any, ...any) error
}) uint64 {
	t.Helper()
	var n uint64
	if err := db.QueryRow(context.Background(), "SELECT count() FROM assets", nil, &n); err != nil {
		t.Fatal(err)
	}
	return n
}
