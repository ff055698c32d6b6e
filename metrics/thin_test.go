package metrics

import "testing"

func TestThin(t *testing.T) {
	pts := make([]SurvivalPoint, 1000)
	for i := range pts {
		pts[i].Days = float64(i)
	}
	got := thin(pts, 400)
	if len(got) != 400 || got[0].Days != 0 || got[399].Days != 999 {
		t.Fatalf("thin: %d points from %g to %g", len(got), got[0].Days, got[len(got)-1].Days)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Days <= got[i-1].Days {
			t.Fatalf("thin: not increasing at %d", i)
		}
	}
	if short := thin(pts[:10], 400); len(short) != 10 {
		t.Fatalf("thin kept %d of 10", len(short))
	}
}
