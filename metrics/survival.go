package metrics

// KMRow is one distinct duration of a Kaplan–Meier sample: how many
// findings were fixed (events) and how many were still open (censored)
// after exactly Seconds.
type KMRow struct {
	Seconds  float64
	Events   uint64
	Censored uint64
}

// KaplanMeier returns the survival curve of rows sorted by duration: after
// each duration tᵢ, S(tᵢ) = ∏ over tⱼ ≤ tᵢ of (1 − dⱼ/nⱼ), where nⱼ counts
// every finding whose duration is ≥ tⱼ (a finding censored at tⱼ is still
// at risk at tⱼ). It also returns the median (smallest t with S(t) ≤ 0.5)
// and P90 (smallest t with S(t) ≤ 0.1), in seconds; ok is false when not
// reached.
func KaplanMeier(rows []KMRow) (points []SurvivalPoint, median, p90 float64, medianOK, p90OK bool) {
	var atRisk uint64
	for _, r := range rows {
		atRisk += r.Events + r.Censored
	}
	s := 1.0
	for _, r := range rows {
		if r.Events > 0 {
			s *= 1 - float64(r.Events)/float64(atRisk)
		}
		points = append(points, SurvivalPoint{Days: r.Seconds / secondsPerDay, AtRisk: atRisk, Events: r.Events, Censored: r.Censored, Survival: s})
		if r.Events > 0 {
			if !medianOK && s <= 0.5 {
				median, medianOK = r.Seconds, true
			}
			if !p90OK && s <= 0.1 {
				p90, p90OK = r.Seconds, true
			}
		}
		atRisk -= r.Events + r.Censored
	}
	return points, median, p90, medianOK, p90OK
}

// maxCurvePoints caps the steps of a survival curve in a result.
const maxCurvePoints = 400

// survival fills vuln_ttr_survival for one (period, group, slice) from the
// grouped durations of kpi/vuln_findings.sql: the distinct durations d
// (seconds, ascending) with the cumulative events and findings up to each.
func survival(c computed, k cellKey, d, cumEv []uint64, cumN []uint32) {
	if len(d) == 0 || len(cumEv) != len(d) || len(cumN) != len(d) {
		return
	}
	rows := make([]KMRow, len(d))
	var total, ev, cens uint64
	var prevEv, prevN uint64
	for i := range d {
		events, n := cumEv[i]-prevEv, uint64(cumN[i])-prevN
		prevEv, prevN = cumEv[i], uint64(cumN[i])
		rows[i] = KMRow{Seconds: float64(d[i]), Events: events, Censored: n - events}
		total += n
		ev += events
		cens += n - events
	}
	pts, med, p90, medOK, p90OK := KaplanMeier(rows)
	c.t.set(k.pi, k.g, k.slice, "median", reached(med, medOK), total)
	c.t.set(k.pi, k.g, k.slice, "p90", reached(p90, p90OK), total)
	c.t.set(k.pi, k.g, k.slice, "events", num(float64(ev)), ev)
	c.t.set(k.pi, k.g, k.slice, "censored", num(float64(cens)), cens)
	c.curves[k] = Curve{Slice: k.slice, Points: thin(pts, maxCurvePoints)}
}

// thin keeps at most limit steps of a curve: every step when it has that
// few, else evenly spaced steps including the first and last. S(t) stays
// exact at every kept step; the dropped steps' counts are not merged into
// them.
func thin(pts []SurvivalPoint, limit int) []SurvivalPoint {
	if len(pts) <= limit {
		return pts
	}
	out := make([]SurvivalPoint, 0, limit)
	step := float64(len(pts)-1) / float64(limit-1)
	for i := range limit {
		out = append(out, pts[int(float64(i)*step+0.5)])
	}
	return out
}

func reached(sec float64, ok bool) *float64 {
	if !ok {
		return nil
	}
	return num(sec / secondsPerDay)
}
