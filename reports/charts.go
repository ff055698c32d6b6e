package reports

import (
	"fmt"
	"html/template"
	"math"
	"strings"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
	"github.com/go-echarts/go-echarts/v2/types"

	"github.com/secmetrics/secmetrics/metrics"
)

// chart is one chart of the dashboard: its container and its ECharts
// options, written as a JSON data block that the page's script (qbr.js)
// hands to echarts.init and setOption.
type chart struct {
	ID    string
	Title string
	Note  string
	Size  string // sm, md or lg: the container's height class
	// Options is the chart's option object as JSON, escaped by chartJSON so
	// that it cannot end its <script type="application/json"> element.
	Options template.JS
}

// palette is the series colours: calm, distinguishable, and printable in
// grey.
var palette = opts.Colors{"#1f4e79", "#2a9d8f", "#e9a23b", "#c0504d", "#7f6aa8", "#5b9bd5", "#8c8c8c", "#70ad47"}

const fontStack = `system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Liberation Sans", "DejaVu Sans", sans-serif`

// echart is what go-echarts' Line and Bar have in common for rendering.
type echart interface {
	Validate()
	JSON() map[string]interface{}
	GetAssets() opts.Assets
}

// chartBuilder numbers the charts of one page and renders their options.
type chartBuilder struct {
	assets  string // go-echarts AssetsHost: where the service serves AssetsHandler
	n       int
	scripts []string // go-echarts' script assets (echarts.min.js under assets)
	err     error
}

func (cb *chartBuilder) nextID() string {
	cb.n++
	return fmt.Sprintf("chart-%d", cb.n)
}

// common returns the global options every chart shares. A horizontal
// chart has its categories (team names) on the y axis, all of them shown.
func (cb *chartBuilder) common(id string, u metrics.Unit, horizontal bool) []charts.GlobalOpts {
	suffix := strings.TrimSpace(unitSuffix(u))
	if suffix != "" {
		suffix = " " + suffix
	}
	label := &opts.AxisLabel{Formatter: types.FuncStr("{value}" + suffix), Color: "#555"}
	grid := &opts.SplitLine{Show: opts.Bool(true), LineStyle: &opts.LineStyle{Color: "#e6e9ef"}}
	o := []charts.GlobalOpts{
		charts.WithInitializationOpts(opts.Initialization{ChartID: id, AssetsHost: cb.assets, Width: "100%", Height: "100%"}),
		charts.WithAnimation(false),
		charts.WithColorsOpts(palette),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Bottom: "0", Type: "scroll", ItemWidth: 14, ItemHeight: 8}),
		charts.WithGridOpts(opts.Grid{Left: "6", Right: "22", Top: "22", Bottom: "30", ContainLabel: opts.Bool(true)}),
	}
	if horizontal {
		return append(o,
			charts.WithXAxisOpts(opts.XAxis{Type: "value", AxisLabel: label, SplitLine: grid}),
			charts.WithYAxisOpts(opts.YAxis{Type: "category", Inverse: opts.Bool(true), AxisLabel: &opts.AxisLabel{Interval: "0", Color: "#333"}}))
	}
	return append(o, charts.WithYAxisOpts(opts.YAxis{AxisLabel: label, SplitLine: grid}))
}

// render turns a go-echarts chart into its options. They are marshalled
// by chartJSON, not by go-echarts' template, whose inline script is
// neither HTML-safe nor free of its "__f__" raw-JavaScript marker, and
// which a strict Content-Security-Policy would refuse to run.
func (cb *chartBuilder) render(id, title, note, size string, c echart) chart {
	c.Validate()
	if cb.scripts == nil {
		cb.scripts = c.GetAssets().JSAssets.Values
	}
	obj := c.JSON()
	// Tooltips are drawn on the canvas (richText): ECharts' HTML tooltips
	// carry inline style attributes that a strict style-src refuses.
	obj["tooltip"] = map[string]any{"show": true, "trigger": "axis", "renderMode": "richText", "confine": true}
	obj["textStyle"] = map[string]any{"fontFamily": fontStack}
	delete(obj, "toolbox")
	js, err := chartJSON(obj)
	if err != nil {
		if cb.err == nil {
			cb.err = fmt.Errorf("%s: %w", title, err)
		}
		js = []byte("{}")
	}
	return chart{ID: id, Title: title, Note: note, Size: size, Options: template.JS(js)}
}

// point is a chart value: display-scaled and rounded as the page shows it
// (tooltips print the number as it is), nil (null) when missing.
func point(u metrics.Unit, v *float64) *float64 {
	if v = num(v); v == nil {
		return nil
	}
	p := math.Pow(10, float64(decimals(u)))
	x := math.Round(display(u, *v)*p) / p
	return &x
}

func lineData(vals []*float64) []opts.LineData {
	out := make([]opts.LineData, len(vals))
	for i, v := range vals {
		out[i] = opts.LineData{Value: v} // a nil *float64 is JSON null: a gap
	}
	return out
}

func barData(vals []*float64) []opts.BarData {
	out := make([]opts.BarData, len(vals))
	for i, v := range vals {
		out[i] = opts.BarData{Value: v} // a nil *float64 is JSON null: no bar
	}
	return out
}

// targetLine marks a target on a series.
func targetLine(u metrics.Unit, t *metrics.Target) charts.SeriesOpts {
	if t == nil {
		return func(*charts.SingleSeries) {}
	}
	return func(s *charts.SingleSeries) {
		charts.WithMarkLineNameYAxisItemOpts(opts.MarkLineNameYAxisItem{Name: "Target", YAxis: display(u, t.Value)})(s)
		charts.WithMarkLineStyleOpts(opts.MarkLineStyle{
			Symbol:    []string{"none", "none"},
			Label:     &opts.Label{Show: opts.Bool(true), Formatter: types.FuncStr("target " + strings.TrimSpace(formatTarget(u, t))), Position: "insideEndTop", Color: "#9c0006"},
			LineStyle: &opts.LineStyle{Color: "#c0504d", Type: "dashed", Width: 1},
		})(s)
	}
}

// maxTrendLines is the most series a trend chart shows: more is noise in
// a small chart (the scorecard has every headline value).
const maxTrendLines = 3

// trendChart draws a KPI's headline values over its trend periods: the
// lines sharing the first line's unit (a count beside a percentage has its
// own place in the scorecard).
func (cb *chartBuilder) trendChart(res metrics.Result, size string) chart {
	d := definition(res)
	v := views[d.Name]
	id := cb.nextID()
	var periods []string
	for _, p := range res.Trend {
		periods = append(periods, p.Period.Name)
	}
	var unit metrics.Unit
	var lines []line
	for _, l := range v.Lines {
		m, ok := d.Measure(l.Measure)
		if !ok {
			continue
		}
		if unit == "" {
			unit = m.Unit
		}
		if m.Unit == unit && len(lines) < maxTrendLines {
			lines = append(lines, l)
		}
	}
	series := func(l line) []*float64 {
		vals := make([]*float64, len(res.Trend))
		for i, p := range res.Trend {
			if x := value(p.Groups, "", l.Measure, l.Slice); x != nil {
				vals[i] = point(unit, x.Value)
			}
		}
		return vals
	}
	note := fmt.Sprintf("%s · %s", d.ID, directionLabel(d.Direction))
	var first *metrics.Target
	if len(lines) > 0 {
		if x := value(res.Groups, "", lines[0].Measure, lines[0].Slice); x != nil {
			first = x.Target
		}
	}
	names := seriesNames(lines)
	if v.Column {
		c := charts.NewBar()
		c.SetGlobalOptions(cb.common(id, unit, false)...)
		c.SetXAxis(periods)
		for i, l := range lines {
			so := []charts.SeriesOpts{}
			if i == 0 {
				so = append(so, targetLine(unit, first))
			}
			c.AddSeries(names[i], barData(series(l)), so...)
		}
		return cb.render(id, d.Title, note, size, c)
	}
	c := charts.NewLine()
	c.SetGlobalOptions(cb.common(id, unit, false)...)
	c.SetXAxis(periods)
	for i, l := range lines {
		so := []charts.SeriesOpts{charts.WithLineChartOpts(opts.LineChart{Symbol: "circle", SymbolSize: 6, ConnectNulls: opts.Bool(false)})}
		if i == 0 {
			so = append(so, targetLine(unit, first))
		}
		c.AddSeries(names[i], lineData(series(l)), so...)
	}
	return cb.render(id, d.Title, note, size, c)
}

// seriesNames are legend names for lines: the slice alone when they share
// a measure ("critical", "overall"), the measure alone when they share a
// slice, else both.
func seriesNames(lines []line) []string {
	sameMeasure, sameSlice := true, true
	for _, l := range lines {
		sameMeasure = sameMeasure && l.Measure == lines[0].Measure
		sameSlice = sameSlice && l.Slice == lines[0].Slice
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		switch {
		case sameSlice:
			out[i] = measureLabel(l.Measure)
		case sameMeasure && l.Slice == "all":
			out[i] = "overall"
		case sameMeasure:
			out[i] = l.Slice
		default:
			out[i] = lineLabel(l.Measure, l.Slice)
		}
	}
	return out
}

// backlogChart draws findings opened and fixed per period as columns and
// the open backlog at each period end as a line.
func (cb *chartBuilder) backlogChart(res metrics.Result) chart {
	id := cb.nextID()
	var periods []string
	get := func(measure string) []*float64 {
		vals := make([]*float64, len(res.Trend))
		for i, p := range res.Trend {
			if x := value(p.Groups, "", measure, "all"); x != nil {
				vals[i] = point(metrics.Count, x.Value)
			}
		}
		return vals
	}
	for _, p := range res.Trend {
		periods = append(periods, p.Period.Name)
	}
	bar := charts.NewBar()
	bar.SetGlobalOptions(cb.common(id, metrics.Count, false)...)
	bar.SetXAxis(periods)
	bar.AddSeries("Opened", barData(get("opened")), charts.WithItemStyleOpts(opts.ItemStyle{Color: "#e9a23b"}))
	bar.AddSeries("Fixed", barData(get("fixed")), charts.WithItemStyleOpts(opts.ItemStyle{Color: "#2a9d8f"}))
	line := charts.NewLine()
	line.SetXAxis(periods)
	line.AddSeries("Open at period end", lineData(get("open")), charts.WithLineChartOpts(opts.LineChart{Symbol: "circle", SymbolSize: 6}),
		charts.WithItemStyleOpts(opts.ItemStyle{Color: "#1f4e79"}), charts.WithLineStyleOpts(opts.LineStyle{Width: 2}))
	bar.Overlap(line)
	return cb.render(id, "Backlog: opened versus fixed", "Findings first seen and fixed in each period, and open at each period end", "md", bar)
}

// sliceBars draws measures of a KPI side by side for each slice (e.g. P50
// and P90 by severity), from the current period's ungrouped values.
func (cb *chartBuilder) sliceBars(res metrics.Result, title, note string, measures []string, slices []string) chart {
	d := definition(res)
	id := cb.nextID()
	m0, _ := d.Measure(measures[0])
	c := charts.NewBar()
	c.SetGlobalOptions(cb.common(id, m0.Unit, false)...)
	c.SetXAxis(slices)
	for _, m := range measures {
		mm, _ := d.Measure(m)
		vals := make([]*float64, len(slices))
		// A target line across every bar only for a target of every slice.
		var t *metrics.Target
		for i, s := range slices {
			if x := value(res.Groups, "", m, s); x != nil {
				vals[i] = point(mm.Unit, x.Value)
				if t == nil && x.Target != nil && x.Target.Slice == "" {
					t = x.Target
				}
			}
		}
		c.AddSeries(measureLabel(m), barData(vals), charts.WithBarChartOpts(opts.BarChart{BarGap: "10%"}), targetLine(mm.Unit, t))
	}
	return cb.render(id, title, note, "md", c)
}

// groupBars draws one measure of a grouped result per group (teams, tiers),
// one series per slice.
func (cb *chartBuilder) groupBars(res metrics.Result, title, note, measure string, slices []string, label func(string) string, horizontal bool) chart {
	d := definition(res)
	id := cb.nextID()
	m, _ := d.Measure(measure)
	var cats []string
	for _, g := range res.Groups {
		cats = append(cats, label(g.Key))
	}
	c := charts.NewBar()
	c.SetGlobalOptions(cb.common(id, m.Unit, horizontal)...)
	c.SetXAxis(cats)
	if horizontal {
		c.XYReversal()
	}
	for _, s := range slices {
		vals := make([]*float64, len(res.Groups))
		any := false
		for i, g := range res.Groups {
			if x := value(res.Groups, g.Key, measure, s); x != nil {
				vals[i] = point(m.Unit, x.Value)
				any = any || vals[i] != nil
			}
		}
		if !any {
			continue
		}
		c.AddSeries(lineLabel(measure, s), barData(vals))
	}
	size := "md"
	if horizontal && len(cats) > 8 {
		size = "lg"
	}
	return cb.render(id, title, note, size, c)
}

// presentSlices returns the slices of measure present in res's ungrouped
// group, in the engine's order.
func presentSlices(res metrics.Result, measure string, skipAll bool) []string {
	var out []string
	for _, g := range res.Groups {
		if g.Key != "" {
			continue
		}
		for _, v := range g.Values {
			if v.Measure == measure && !(skipAll && v.Slice == "all") {
				out = append(out, v.Slice)
			}
		}
	}
	return out
}
