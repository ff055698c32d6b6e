package metrics

import "math"

// PercentileInc returns the p-th percentile (0 ≤ p ≤ 1) of sorted values
// the way Excel's PERCENTILE.INC and NumPy's default do: rank
// h = (n − 1)·p (0-based), linear interpolation between the values at
// floor(h) and ceil(h). It is the reference for the SQL in queries/kpi
// (same arithmetic, so the results are bit-identical) and returns NaN for
// no values.
func PercentileInc(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	h := float64(n-1) * p
	lo, hi := math.Floor(h), math.Ceil(h)
	a, b := sorted[int(lo)], sorted[int(hi)]
	return a + (h-lo)*(b-a)
}
