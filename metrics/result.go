package metrics

import (
	"math"
	"slices"
	"sort"
)

// cell is one computed number before comparison: v nil when not
// computable.
type cell struct {
	v *float64
	n uint64
}

type cellKey struct {
	pi       int // 0-based index into the computed periods
	g, slice string
}

// table is what a KPI's SQL produced: per period, group and slice, the
// value of each measure.
type table map[cellKey]map[string]cell

func (t table) set(pi int, g, slice, measure string, v *float64, n uint64) {
	k := cellKey{pi, g, slice}
	if t[k] == nil {
		t[k] = map[string]cell{}
	}
	t[k][measure] = cell{v, n}
}

func num(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

// ratio returns a ÷ b as a percentage, nil when b is 0.
func ratio(a, b uint64) *float64 {
	if b == 0 {
		return nil
	}
	return num(100 * float64(a) / float64(b))
}

// plan is the set of periods one KPI computation evaluates: the trend
// points (or the period alone) and the previous period.
type plan struct {
	periods []Period // every distinct period, SQL pi = index + 1
	cur     int      // index of the period asked for
	prev    int      // index of the previous period, -1 when not compared
	trend   []int    // indexes of the trend points, oldest first
}

func newPlan(p Period, compare bool, trend int) plan {
	pl := plan{prev: -1}
	if trend > 1 {
		pl.periods = p.Last(trend)
	} else {
		pl.periods = []Period{p}
	}
	pl.cur = len(pl.periods) - 1
	if trend > 1 {
		for i := range pl.periods {
			pl.trend = append(pl.trend, i)
		}
	}
	if compare {
		prev := p.Previous()
		pl.prev = slices.IndexFunc(pl.periods, func(q Period) bool { return q.Equal(prev) })
		if pl.prev < 0 {
			pl.periods = append(pl.periods, prev)
			pl.prev = len(pl.periods) - 1
		}
	}
	return pl
}

var sliceOrder = map[string]int{"all": 0, "critical": 1, "high": 2, "medium": 3, "low": 4, "info": 5, "unknown": 6}

func sortSlices(s []string) {
	sort.Slice(s, func(i, j int) bool {
		oi, iok := sliceOrder[s[i]]
		oj, jok := sliceOrder[s[j]]
		switch {
		case iok && jok:
			return oi < oj
		case iok != jok:
			return iok
		}
		return s[i] < s[j]
	})
}

// targetFor returns the target that applies to a measure in a slice.
func targetFor(ts []Target, measure, slice string) *Target {
	for _, t := range ts {
		if t.Measure == measure && (t.Slice == "" || t.Slice == slice) {
			return &t
		}
	}
	return nil
}

// targets returns the effective targets of d.
func (e *Engine) targets(d Definition) []Target {
	if ts, ok := e.cfg.Targets[d.Name]; ok {
		return ts
	}
	return d.Targets
}

// assemble turns a KPI's table into a Result for plan pl. When the group-by
// is the KPI's own slice dimension, slices become groups.
func (e *Engine) assemble(d Definition, q Query, pl plan, t table) Result {
	bySlice := q.GroupBy != "" && q.GroupBy == d.Slices
	r := Result{KPI: d.ID, Title: d.Title, Unit: d.Unit, Period: pl.periods[pl.cur], GroupBy: q.GroupBy}
	if pl.prev >= 0 {
		prev := pl.periods[pl.prev]
		r.Previous = &prev
	}
	r.Groups = e.groups(d, pl, pl.cur, pl.prev, t, bySlice)
	for _, i := range pl.trend {
		r.Trend = append(r.Trend, Point{Period: pl.periods[i], Groups: e.groups(d, pl, i, -1, t, bySlice)})
	}
	return r
}

func (e *Engine) groups(d Definition, pl plan, cur, prev int, t table, bySlice bool) []Group {
	type gs struct{ g, slice string }
	seen := map[string]map[string]bool{}
	add := func(g, s string) {
		if seen[g] == nil {
			seen[g] = map[string]bool{}
		}
		seen[g][s] = true
	}
	for k := range t {
		if k.pi != cur && k.pi != prev {
			continue
		}
		if bySlice {
			if k.slice != "all" {
				add(k.slice, k.slice)
			}
			continue
		}
		add(k.g, k.slice)
	}
	if len(seen) == 0 && !bySlice {
		add("", "all") // an empty period still reports its zero counts
	}
	for g := range seen {
		if !bySlice {
			seen[g]["all"] = true
		}
	}
	keys := make([]string, 0, len(seen))
	for g := range seen {
		keys = append(keys, g)
	}
	sortSlices(keys)
	ts := e.targets(d)
	var out []Group
	for _, g := range keys {
		slices := make([]string, 0, len(seen[g]))
		for s := range seen[g] {
			slices = append(slices, s)
		}
		sortSlices(slices)
		grp := Group{Key: g}
		for _, s := range slices {
			src := g
			if bySlice {
				src = ""
			}
			cc := t[cellKey{cur, src, s}]
			var pc map[string]cell
			if prev >= 0 {
				pc = t[cellKey{prev, src, s}]
			}
			for _, m := range d.Measures {
				grp.Values = append(grp.Values, value(m, s, cc, pc, prev >= 0, targetFor(ts, m.Name, s)))
			}
		}
		out = append(out, grp)
	}
	return out
}

// value builds one Value with its comparison and status.
func value(m Measure, slice string, cur, prev map[string]cell, compare bool, t *Target) Value {
	c, ok := cur[m.Name]
	if !ok && m.Kind == Total {
		c = cell{v: num(0)}
	}
	v := Value{Measure: m.Name, Slice: slice, Unit: m.Unit, Value: c.v, N: c.n, Target: t}
	if compare {
		p, pok := prev[m.Name]
		if !pok && m.Kind == Total {
			p = cell{v: num(0)}
		}
		v.Previous = p.v
		pn := p.n
		v.PreviousN = &pn
		if v.Value != nil && v.Previous != nil {
			ch := *v.Value - *v.Previous
			v.Change = &ch
			if *v.Previous != 0 {
				v.RelativeChange = num(ch / math.Abs(*v.Previous))
			}
		}
	}
	v.Status = StatusOf(m, v.Value, v.N, t)
	return v
}
