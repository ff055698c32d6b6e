package ingest

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/secmetrics/secmetrics/queries"
)

// Unowned is the team of an asset that no inventory entry or rule maps to
// a team. Such assets stay visible under this name; they are never dropped.
const Unowned = "unowned"

// Asset is one entry of the asset inventory.
type Asset struct {
	Name           string   `json:"asset"`
	Team           string   `json:"team"`
	BusinessUnit   string   `json:"business_unit"`
	Tier           int      `json:"tier"` // 1 (most critical) to 4; 0 unknown
	Kind           string   `json:"kind"` // repository, image, service, website, ...
	Active         bool     `json:"active"`
	InternetFacing bool     `json:"internet_facing"`
	Owner          string   `json:"owner"`
	System         string   `json:"system"`
	Lifecycle      string   `json:"lifecycle"`
	Tags           []string `json:"tags"`
}

func (a Asset) same(b Asset) bool {
	return a.Name == b.Name && a.Team == b.Team && a.BusinessUnit == b.BusinessUnit && a.Tier == b.Tier &&
		a.Kind == b.Kind && a.Active == b.Active && a.InternetFacing == b.InternetFacing && a.Owner == b.Owner &&
		a.System == b.System && a.Lifecycle == b.Lifecycle && slices.Equal(a.Tags, b.Tags)
}

// InventorySummary says what an inventory import changed.
type InventorySummary struct {
	Assets      int `json:"assets"`
	Added       int `json:"added"`
	Changed     int `json:"changed"`
	Deactivated int `json:"deactivated"`
	Unchanged   int `json:"unchanged"`
}

type storedAsset struct {
	Asset
	source      string
	inInventory bool
}

func (s *Store) currentAssets(ctx context.Context) (map[string]storedAsset, error) {
	var rows []struct {
		Asset          string   `ch:"asset"`
		Team           string   `ch:"team"`
		BusinessUnit   string   `ch:"business_unit"`
		Tier           uint8    `ch:"tier"`
		Kind           string   `ch:"asset_kind"`
		Active         uint8    `ch:"active"`
		InternetFacing uint8    `ch:"internet_facing"`
		Owner          string   `ch:"owner"`
		System         string   `ch:"system"`
		Lifecycle      string   `ch:"lifecycle"`
		Tags           []string `ch:"tags"`
		Source         string   `ch:"source"`
		InInventory    uint8    `ch:"in_inventory"`
	}
	if err := s.db.Select(ctx, &rows, queries.SQL("ingest/assets_current.sql")); err != nil {
		return nil, fmt.Errorf("read assets: %w", err)
	}
	out := make(map[string]storedAsset, len(rows))
	for _, r := range rows {
		out[r.Asset] = storedAsset{Asset: Asset{Name: r.Asset, Team: r.Team, BusinessUnit: r.BusinessUnit, Tier: int(r.Tier), Kind: r.Kind,
			Active: r.Active == 1, InternetFacing: r.InternetFacing == 1, Owner: r.Owner, System: r.System, Lifecycle: r.Lifecycle, Tags: r.Tags},
			source: r.Source, inInventory: r.InInventory == 1}
	}
	return out, nil
}

// ImportInventory records the inventory of one source ("backstage",
// "csv", ...) as of at: assets new or changed since the last import get a
// new version from at; assets of the same source missing from this import
// become inactive from at (they are never deleted). Importing the same
// inventory again writes nothing. The very first inventory import describes
// the estate as it always was: its versions are valid from 1970, so past
// periods have an inventory to compute coverage against.
func (s *Store) ImportInventory(ctx context.Context, source string, assets []Asset, at time.Time) (InventorySummary, error) {
	sum := InventorySummary{Assets: len(assets)}
	cur, err := s.currentAssets(ctx)
	if err != nil {
		return sum, err
	}
	first := true
	for _, a := range cur {
		if a.inInventory {
			first = false
			break
		}
	}
	from := at.UTC().Truncate(time.Second)
	if first {
		from = time.Unix(0, 0).UTC()
	}
	seen := map[string]bool{}
	var rows [][]any
	for _, a := range assets {
		if a.Name == "" {
			return sum, fmt.Errorf("inventory %s: an asset without a name", source)
		}
		if seen[a.Name] {
			return sum, fmt.Errorf("inventory %s: asset %q listed twice", source, a.Name)
		}
		seen[a.Name] = true
		if a.Team == "" {
			a.Team = s.ownerOf(a.Name)
		}
		if a.Tags == nil {
			a.Tags = []string{}
		}
		c, ok := cur[a.Name]
		switch {
		case !ok:
			sum.Added++
		case c.inInventory && c.same(a):
			sum.Unchanged++
			continue
		default:
			sum.Changed++
		}
		rows = append(rows, assetRow(a, from, source, true, s.Now()))
	}
	names := make([]string, 0, len(cur))
	for n := range cur {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := cur[n]
		if seen[n] || !c.inInventory || !c.Active || c.source != source {
			continue
		}
		sum.Deactivated++
		c.Active = false
		rows = append(rows, assetRow(c.Asset, from, source, true, s.Now()))
	}
	if err := s.insert(ctx, "assets", queries.SQL("ingest/assets.columns"), rows); err != nil {
		return sum, err
	}
	return sum, nil
}

func assetRow(a Asset, from time.Time, source string, inInventory bool, now time.Time) []any {
	tags := a.Tags
	if tags == nil {
		tags = []string{}
	}
	return []any{a.Name, from, a.Team, a.BusinessUnit, uint8(a.Tier), a.Kind, b2u(a.Active), b2u(a.InternetFacing),
		a.Owner, a.System, a.Lifecycle, tags, source, b2u(inInventory), now}
}

func (s *Store) ownerOf(asset string) string {
	if s.Owner != nil {
		if team, ok := s.Owner(asset); ok && team != "" {
			return team
		}
	}
	return Unowned
}

// ensureAssets records assets that findings name but no inventory lists,
// owned by the team the ownership rules give (or Unowned), valid from 1970
// so that their findings are attributed at all times. They are not counted
// in coverage denominators (in_inventory = 0).
func (s *Store) ensureAssets(ctx context.Context, names []string) error {
	var known []struct {
		Asset string `ch:"asset"`
	}
	if err := s.db.Select(ctx, &known, queries.SQL("ingest/assets_known.sql"), names); err != nil {
		return fmt.Errorf("look up assets: %w", err)
	}
	have := make(map[string]bool, len(known))
	for _, k := range known {
		have[k.Asset] = true
	}
	var rows [][]any
	for _, n := range names {
		if have[n] {
			continue
		}
		rows = append(rows, assetRow(Asset{Name: n, Team: s.ownerOf(n), Active: true}, time.Unix(0, 0).UTC(), "discovered", false, s.Now()))
	}
	return s.insert(ctx, "assets", queries.SQL("ingest/assets.columns"), rows)
}
