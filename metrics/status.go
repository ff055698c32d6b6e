package metrics

import "math"

// minSample is the spec's sample-size floor for percentiles, means and
// ratios.
const minSample = 5

// amberShare is how far (as a share of the target) a value may miss its
// target and still be amber.
const amberShare = 0.2

// StatusOf returns the status of value v (nil: not computable) of measure m
// computed from n items against target t (nil: none).
//
// Percentiles, means and ratios with n < 5 are insufficient_data whatever
// the target; otherwise no target gives no_target, meeting it green,
// missing by at most 20 % of the target (or up to t.Amber when set) amber,
// and anything worse red.
func StatusOf(m Measure, v *float64, n uint64, t *Target) Status {
	if m.Kind != Total && n < minSample {
		return InsufficientData
	}
	if t == nil {
		return NoTarget
	}
	if v == nil || math.IsNaN(*v) {
		return InsufficientData
	}
	x := *v
	if meets(x, t.Op, t.Value) {
		return Green
	}
	limit := t.Amber
	if limit == 0 {
		slack := amberShare * math.Abs(t.Value)
		switch t.Op {
		case "<", "<=":
			limit = t.Value + slack
		default:
			limit = t.Value - slack
		}
	}
	switch t.Op {
	case "<", "<=":
		if x <= limit {
			return Amber
		}
	default:
		if x >= limit {
			return Amber
		}
	}
	return Red
}

func meets(x float64, op string, target float64) bool {
	switch op {
	case "<":
		return x < target
	case "<=":
		return x <= target
	case ">":
		return x > target
	case ">=":
		return x >= target
	}
	return false
}
