// Package inventory reads asset inventories — Backstage catalog files
// (catalog-info.yaml) and a plain CSV — into ingest.Asset records, and maps
// assets that no inventory lists to teams by configurable rules.
//
// Backstage: every Component, Resource or System entity is an asset.
// The asset name is the repository named by the github.com/project-slug
// (or gitlab.com/project-slug) annotation as "github.com/<slug>", the
// secmetrics.io/asset annotation when present, otherwise the entity name.
// The team is spec.owner without its "group:" kind or namespace; the
// business unit is the secmetrics.io/business-unit annotation, otherwise the
// nearest ancestor Group of spec.type business-unit (or division) reached
// through spec.parent among the Group entities of the same import. The tier
// comes from the configured annotation (default secmetrics.io/tier: "1".."4"
// or "tier-1") or a tag with the configured prefix (default "tier-").
// spec.lifecycle "deprecated" or "retired" makes the asset inactive; the
// secmetrics.io/internet-facing annotation ("true") marks exposure.
package inventory

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/secmetrics/secmetrics/ingest"
)

// Config configures inventory reading and ownership rules.
type Config struct {
	// TierAnnotation is the Backstage annotation holding the tier.
	TierAnnotation string `yaml:"tier_annotation"`
	// TierTagPrefix is the prefix of a Backstage tag holding the tier.
	TierTagPrefix string `yaml:"tier_tag_prefix"`
	// Rules map assets absent from the inventory to teams, first match
	// wins; an asset no rule matches is ingest.Unowned.
	Rules []Rule `yaml:"rules"`
}

// Rule maps asset names to a team by prefix or regular expression.
type Rule struct {
	Prefix string `yaml:"prefix"`
	Regex  string `yaml:"regex"`
	Team   string `yaml:"team"`
	re     *regexp.Regexp
}

// Defaults returns the default configuration.
func Defaults() Config {
	return Config{TierAnnotation: "secmetrics.io/tier", TierTagPrefix: "tier-"}
}

// Check reports every problem of c, each with its key under prefix.
func (c *Config) Check(prefix string) []error {
	var errs []error
	for i := range c.Rules {
		r := &c.Rules[i]
		key := fmt.Sprintf("%s.rules[%d]", prefix, i)
		if r.Team == "" {
			errs = append(errs, fmt.Errorf("%s.team: required", key))
		}
		switch {
		case r.Prefix == "" && r.Regex == "":
			errs = append(errs, fmt.Errorf("%s: set prefix or regex", key))
		case r.Prefix != "" && r.Regex != "":
			errs = append(errs, fmt.Errorf("%s: set prefix or regex, not both", key))
		case r.Regex != "":
			re, err := regexp.Compile(r.Regex)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.regex: %v", key, err))
			}
			r.re = re
		}
	}
	return errs
}

// Owner returns the team of an asset by the rules. Check must have been
// called first (it compiles the expressions).
func (c Config) Owner(asset string) (string, bool) {
	for _, r := range c.Rules {
		if r.Prefix != "" && strings.HasPrefix(asset, r.Prefix) {
			return r.Team, true
		}
		if r.re != nil && r.re.MatchString(asset) {
			return r.Team, true
		}
	}
	return "", false
}

type entity struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name        string            `yaml:"name"`
		Namespace   string            `yaml:"namespace"`
		Annotations map[string]string `yaml:"annotations"`
		Tags        []string          `yaml:"tags"`
	} `yaml:"metadata"`
	Spec struct {
		Type      string `yaml:"type"`
		Owner     string `yaml:"owner"`
		Lifecycle string `yaml:"lifecycle"`
		System    string `yaml:"system"`
		Parent    string `yaml:"parent"`
	} `yaml:"spec"`
}

// maxFile is the largest inventory file accepted.
const maxFile = 64 << 20

// ReadBackstage reads one or more catalog files (multi-document YAML) into
// assets. Errors name the file and document.
func (c Config) ReadBackstage(files map[string][]byte) ([]ingest.Asset, error) {
	var ents []entity
	var where []string
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		data := files[name]
		if len(data) > maxFile {
			return nil, fmt.Errorf("%s: larger than %d MiB", name, maxFile>>20)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for doc := 1; ; doc++ {
			var e entity
			err := dec.Decode(&e)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%s: document %d: %v", name, doc, err)
			}
			if e.Kind == "" && e.Metadata.Name == "" {
				continue // an empty document
			}
			if !strings.HasPrefix(e.APIVersion, "backstage.io/") {
				return nil, fmt.Errorf("%s: document %d: apiVersion %q is not a Backstage entity", name, doc, e.APIVersion)
			}
			if e.Metadata.Name == "" {
				return nil, fmt.Errorf("%s: document %d: metadata.name is required", name, doc)
			}
			ents = append(ents, e)
			where = append(where, fmt.Sprintf("%s: document %d", name, doc))
		}
	}
	groups := map[string]entity{}
	for _, e := range ents {
		if strings.EqualFold(e.Kind, "Group") {
			groups[strings.ToLower(e.Metadata.Name)] = e
		}
	}
	var out []ingest.Asset
	seen := map[string]string{}
	for i, e := range ents {
		switch strings.ToLower(e.Kind) {
		case "component", "resource", "system":
		default:
			continue
		}
		a, err := c.asset(e, groups)
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", where[i], e.Metadata.Name, err)
		}
		if prev, dup := seen[a.Name]; dup {
			return nil, fmt.Errorf("%s: asset %q already defined at %s", where[i], a.Name, prev)
		}
		seen[a.Name] = where[i]
		out = append(out, a)
	}
	return out, nil
}

func (c Config) asset(e entity, groups map[string]entity) (ingest.Asset, error) {
	ann := e.Metadata.Annotations
	a := ingest.Asset{Name: e.Metadata.Name, Kind: strings.ToLower(e.Spec.Type), Active: true,
		Owner: e.Spec.Owner, System: e.Spec.System, Lifecycle: e.Spec.Lifecycle, Tags: append([]string{}, e.Metadata.Tags...)}
	for _, host := range []string{"github.com", "gitlab.com"} {
		if slug := ann[host+"/project-slug"]; slug != "" {
			a.Name, a.Kind = host+"/"+strings.Trim(slug, "/"), "repository"
		}
	}
	if v := ann["secmetrics.io/asset"]; v != "" {
		a.Name = v
	}
	if v := ann["secmetrics.io/asset-kind"]; v != "" {
		a.Kind = v
	}
	if a.Kind == "" {
		a.Kind = strings.ToLower(e.Kind)
	}
	a.Team = groupName(e.Spec.Owner)
	a.BusinessUnit = ann["secmetrics.io/business-unit"]
	if a.BusinessUnit == "" {
		a.BusinessUnit = businessUnit(a.Team, groups)
	}
	tier, err := c.tier(e)
	if err != nil {
		return a, err
	}
	a.Tier = tier
	switch strings.ToLower(e.Spec.Lifecycle) {
	case "deprecated", "retired":
		a.Active = false
	}
	if v := ann["secmetrics.io/internet-facing"]; v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return a, fmt.Errorf("annotation secmetrics.io/internet-facing: %q is not true or false", v)
		}
		a.InternetFacing = b
	}
	sort.Strings(a.Tags)
	return a, nil
}

// groupName turns an owner reference ("group:default/payments") into a
// team name ("payments").
func groupName(ref string) string {
	ref = strings.ToLower(strings.TrimSpace(ref))
	if i := strings.IndexByte(ref, ':'); i >= 0 {
		ref = ref[i+1:]
	}
	if i := strings.LastIndexByte(ref, '/'); i >= 0 {
		ref = ref[i+1:]
	}
	return ref
}

func businessUnit(team string, groups map[string]entity) string {
	cur := team
	for range 10 { // bounded: a parent cycle must not loop forever
		g, ok := groups[cur]
		if !ok {
			return ""
		}
		switch strings.ToLower(g.Spec.Type) {
		case "business-unit", "business_unit", "division":
			return g.Metadata.Name
		}
		cur = groupName(g.Spec.Parent)
		if cur == "" {
			return ""
		}
	}
	return ""
}

func (c Config) tier(e entity) (int, error) {
	if v, ok := e.Metadata.Annotations[c.TierAnnotation]; ok && c.TierAnnotation != "" {
		t, err := ParseTier(v)
		if err != nil {
			return 0, fmt.Errorf("annotation %s: %w", c.TierAnnotation, err)
		}
		return t, nil
	}
	if c.TierTagPrefix != "" {
		for _, tag := range e.Metadata.Tags {
			if rest, ok := strings.CutPrefix(tag, c.TierTagPrefix); ok {
				t, err := ParseTier(rest)
				if err != nil {
					return 0, fmt.Errorf("tag %s: %w", tag, err)
				}
				return t, nil
			}
		}
	}
	return 0, nil
}

// ParseTier reads a tier: "1".."4", "tier1", "tier-2", "T3"; "" is 0
// (unknown).
func ParseTier(s string) (int, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return 0, nil
	}
	s = strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(s, "tier"), "-"), "t")
	t, err := strconv.Atoi(s)
	if err != nil || t < 1 || t > 4 {
		return 0, fmt.Errorf("tier %q is not 1 to 4", s)
	}
	return t, nil
}

var csvColumns = []string{"asset", "team", "business_unit", "tier", "kind", "active", "internet_facing"}

// ReadCSV reads the plain inventory CSV: a header with the columns asset,
// team, business_unit, tier, kind, active, internet_facing (in any order;
// asset required, others optional), one asset per row. Every row is
// validated; the first bad one fails the whole file with its line number.
func ReadCSV(name string, r io.Reader) ([]ingest.Asset, error) {
	cr := csv.NewReader(io.LimitReader(r, maxFile))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %v", name, err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		known := false
		for _, c := range csvColumns {
			if h == c {
				known = true
			}
		}
		if !known {
			return nil, fmt.Errorf("%s: line 1: unknown column %q (want %s)", name, h, strings.Join(csvColumns, ", "))
		}
		if _, dup := col[h]; dup {
			return nil, fmt.Errorf("%s: line 1: column %q twice", name, h)
		}
		col[h] = i
	}
	if _, ok := col["asset"]; !ok {
		return nil, fmt.Errorf("%s: line 1: the asset column is required", name)
	}
	var out []ingest.Asset
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		if len(rec) != len(header) {
			return nil, fmt.Errorf("%s: line %d: %d fields, header has %d", name, line, len(rec), len(header))
		}
		get := func(c string) string {
			if i, ok := col[c]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		a := ingest.Asset{Name: get("asset"), Team: strings.ToLower(get("team")), BusinessUnit: get("business_unit"), Kind: strings.ToLower(get("kind")), Active: true, Tags: []string{}}
		if a.Name == "" {
			return nil, fmt.Errorf("%s: line %d: asset is empty", name, line)
		}
		if prev, dup := seen[a.Name]; dup {
			return nil, fmt.Errorf("%s: line %d: asset %q already on line %d", name, line, a.Name, prev)
		}
		seen[a.Name] = line
		if a.Tier, err = ParseTier(get("tier")); err != nil {
			return nil, fmt.Errorf("%s: line %d: %v", name, line, err)
		}
		for _, b := range []struct {
			col string
			dst *bool
		}{{"active", &a.Active}, {"internet_facing", &a.InternetFacing}} {
			v := get(b.col)
			if v == "" {
				continue
			}
			x, err := parseBool(v)
			if err != nil {
				return nil, fmt.Errorf("%s: line %d: %s: %q is not true or false", name, line, b.col, v)
			}
			*b.dst = x
		}
		out = append(out, a)
	}
	return out, nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "1", "true", "yes", "y":
		return true, nil
	case "0", "false", "no", "n":
		return false, nil
	}
	return false, errors.New("not a boolean")
}
