package metrics

import (
	"context"
	"fmt"
)

// vulnRow is one (period, group, slice) row of kpi/vuln_findings.sql.
type vulnRow struct {
	PI          uint32    `ch:"pi"`
	G           string    `ch:"g"`
	Slice       string    `ch:"slice"`
	MTTRN       uint64    `ch:"mttr_n"`
	MTTRP       []float64 `ch:"mttr_p"`
	MTTRMean    float64   `ch:"mttr_mean"`
	SLAFixedN   uint64    `ch:"sla_fixed_n"`
	SLAFixedOK  uint64    `ch:"sla_fixed_ok"`
	SLAOpenN    uint64    `ch:"sla_open_n"`
	SLAOverdue  uint64    `ch:"sla_overdue"`
	OpenN       uint64    `ch:"open_n"`
	Age030      uint64    `ch:"age_0_30"`
	Age3190     uint64    `ch:"age_31_90"`
	Age91180    uint64    `ch:"age_91_180"`
	AgeOver180  uint64    `ch:"age_over_180"`
	RAOpen      uint64    `ch:"ra_open"`
	OpenedN     uint64    `ch:"opened_n"`
	FixedN      uint64    `ch:"fixed_n"`
	FixEvents   uint64    `ch:"fix_events"`
	FixReopened uint64    `ch:"fix_reopened"`
	SecretNew   uint64    `ch:"secret_new"`
	RotateN     uint64    `ch:"rotate_n"`
	RotateP     []float64 `ch:"rotate_p"`
	KMD         []uint64  `ch:"km_d"`
	KMCumEv     []uint64  `ch:"km_cum_ev"`
	KMCumN      []uint32  `ch:"km_cum_n"`
}

// vulnKPIs are the KPIs kpi/vuln_findings.sql computes together.
var vulnKPIs = []string{"vuln_mttr", "vuln_ttr_survival", "sla_adherence", "vuln_backlog", "reopen_rate", "secrets_exposure"}

const (
	secondsPerDay  = 86400.0
	secondsPerHour = 3600.0
	daysPerMonth   = 365.25 / 12
)

// vulnPass runs kpi/vuln_findings.sql for the periods of pl and returns
// the result of every KPI of vulnKPIs.
func (e *Engine) vulnPass(ctx context.Context, pl plan, groupBy string, f Filter, s Scope) (map[string]computed, error) {
	d, _ := Lookup("vuln_mttr")
	sql, err := e.statesSQL("vuln_findings.sql", len(pl.periods), statesOpts{Group: groupExpr("findings", groupBy, d)})
	if err != nil {
		return nil, err
	}
	var rows []vulnRow
	args := concat(periodArgs(pl.periods), filterArgs(f, s), e.cfg.SLA.DueArgs())
	if err := e.db.Select(ctx, &rows, sql, args...); err != nil {
		return nil, fmt.Errorf("vulnerability KPIs: %w", err)
	}
	out := map[string]computed{}
	for _, k := range vulnKPIs {
		out[k] = computed{t: table{}}
	}
	out["vuln_ttr_survival"] = computed{t: table{}, curves: map[cellKey]Curve{}}
	for _, r := range rows {
		pi := int(r.PI) - 1
		days := pl.periods[pi].Days()
		set := func(kpi, m string, v *float64, n uint64) { out[kpi].t.set(pi, r.G, r.Slice, m, v, n) }
		count := func(kpi, m string, c uint64) { set(kpi, m, num(float64(c)), c) }

		p50, p90 := pcts(r.MTTRP, r.MTTRN)
		set("vuln_mttr", "p50", scale(p50, secondsPerDay), r.MTTRN)
		set("vuln_mttr", "p90", scale(p90, secondsPerDay), r.MTTRN)
		set("vuln_mttr", "mean", scaleIf(r.MTTRMean, r.MTTRN, secondsPerDay), r.MTTRN)

		set("sla_adherence", "closed_within_sla", ratio(r.SLAFixedOK, r.SLAFixedN), r.SLAFixedN)
		set("sla_adherence", "open_overdue", ratio(r.SLAOverdue, r.SLAOpenN), r.SLAOpenN)
		count("sla_adherence", "overdue", r.SLAOverdue)

		count("vuln_backlog", "open", r.OpenN)
		count("vuln_backlog", "age_0_30", r.Age030)
		count("vuln_backlog", "age_31_90", r.Age3190)
		count("vuln_backlog", "age_91_180", r.Age91180)
		count("vuln_backlog", "age_over_180", r.AgeOver180)
		count("vuln_backlog", "risk_accepted", r.RAOpen)
		count("vuln_backlog", "opened", r.OpenedN)
		count("vuln_backlog", "fixed", r.FixedN)
		net := float64(r.OpenedN) - float64(r.FixedN)
		set("vuln_backlog", "net", &net, r.OpenedN+r.FixedN)

		set("reopen_rate", "rate", ratio(r.FixReopened, r.FixEvents), r.FixEvents)

		count("secrets_exposure", "new", r.SecretNew)
		set("secrets_exposure", "new_per_month", num(float64(r.SecretNew)/days*daysPerMonth), r.SecretNew)
		r50, r90 := pcts(r.RotateP, r.RotateN)
		set("secrets_exposure", "rotate_p50", scale(r50, secondsPerHour), r.RotateN)
		set("secrets_exposure", "rotate_p90", scale(r90, secondsPerHour), r.RotateN)

		survival(out["vuln_ttr_survival"], cellKey{pi, r.G, r.Slice}, r.KMD, r.KMCumEv, r.KMCumN)
	}
	return out, nil
}

// pcts returns the [p50, p90] pair of a SQL percentile array, nil when the
// sample is empty.
func pcts(p []float64, n uint64) (*float64, *float64) {
	if n == 0 || len(p) != 2 {
		return nil, nil
	}
	return num(p[0]), num(p[1])
}

func scale(v *float64, unit float64) *float64 {
	if v == nil {
		return nil
	}
	return num(*v / unit)
}

func scaleIf(v float64, n uint64, unit float64) *float64 {
	if n == 0 {
		return nil
	}
	return num(v / unit)
}
