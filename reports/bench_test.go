package reports

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/secmetrics/secmetrics/metrics"
)

// bigLists is the fixture's engine with an overdue list of n findings:
// the metrics lists stop at 10,000 rows, the workbook must not care.
type bigLists struct {
	Engine
	n int
}

func (b bigLists) OverdueFindings(ctx context.Context, q metrics.ListQuery) ([]metrics.OverdueFinding, error) {
	out := make([]metrics.OverdueFinding, b.n)
	sevs := []string{"critical", "high", "medium", "low"}
	for i := range out {
		first := q.Period.To.Add(-time.Duration(200+i%500) * 24 * time.Hour)
		out[i] = metrics.OverdueFinding{
			FindingID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), Asset: fmt.Sprintf("github.com/acme/service-%05d", i%20000),
			Team: fmt.Sprintf("team-%02d", i%40), Tier: uint8(1 + i%4), Severity: sevs[i%4], Source: "trivy",
			FirstSeen: first, Due: first.Add(30 * 24 * time.Hour), DaysOverdue: float64(170+i%500) + 0.25, KEV: i%50 == 0,
		}
	}
	return out, nil
}

// BenchmarkWorkbook100k writes the QBR workbook of the fixture with a
// 100,000-row drill-down sheet and reports the time and the process's peak
// resident memory during the call (VmHWM, reset first through
// /proc/self/clear_refs), and the peak Go heap sampled every 5 ms. Goals:
// under 10 s and 300 MB. Run with:
//
//	go test ./reports -run '^$' -bench Workbook100k -benchtime 1x
func BenchmarkWorkbook100k(b *testing.B) {
	fx := newFixture(b)
	const rows = 100_000
	r := New(bigLists{fx.engine, rows}, Options{Version: "bench", Now: func() time.Time { return fixtureNow }})
	p := fx.period(b, "2026-Q3")
	dir := b.TempDir()
	for i := 0; i < b.N; i++ {
		path := filepath.Join(dir, fmt.Sprintf("qbr-%d.xlsx", i))
		runtime.GC()
		resetPeak(b)
		var heap uint64
		stop := sampleHeap(&heap)
		// What Workbook does, timed in its two halves: the KPI queries, then
		// the file (with the drill-down lists, read as their sheets are
		// written).
		start := time.Now()
		data, err := r.collect(context.Background(), p, metrics.Scope{}, metrics.Filter{}, 0)
		if err != nil {
			b.Fatal(err)
		}
		queried := time.Since(start)
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := r.writeWorkbook(context.Background(), f, data); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(start)
		stop()
		hwm := peakRSS(b)
		st, _ := os.Stat(path)
		b.ReportMetric(elapsed.Seconds(), "s/workbook")
		b.ReportMetric(queried.Seconds(), "s-kpi-queries")
		b.ReportMetric(float64(hwm)/(1<<20), "peak-RSS-MB")
		b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MB")
		b.ReportMetric(float64(st.Size())/(1<<20), "file-MB")
		b.Logf("%d-row sheet: %.2f s (KPI queries %.2f s, lists and writing %.2f s), peak RSS %.0f MB, peak Go heap %.0f MB, file %.1f MB (%d CPUs)",
			rows, elapsed.Seconds(), queried.Seconds(), (elapsed - queried).Seconds(), float64(hwm)/(1<<20), float64(heap)/(1<<20), float64(st.Size())/(1<<20), runtime.NumCPU())
		if elapsed > 10*time.Second || hwm > 300<<20 {
			b.Errorf("over the goal of 10 s and 300 MB")
		}
		if i == 0 {
			checkRows(b, path, sheetOverdue, rows+3)
		}
	}
}

// resetPeak resets the process's peak RSS (Linux: "5" to clear_refs).
func resetPeak(b *testing.B) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Skipf("cannot reset the peak RSS: %v", err)
	}
}

// peakRSS reads VmHWM from /proc/self/status, in bytes.
func peakRSS(b *testing.B) uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	b.Fatal("no VmHWM")
	return 0
}

// sampleHeap records the largest HeapInuse into max until stopped.
func sampleHeap(max *uint64) func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > *max {
				*max = ms.HeapInuse
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func checkRows(b *testing.B, path, sheet string, want int) {
	f, err := excelize.OpenFile(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rs, err := f.Rows(sheet)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for rs.Next() {
		n++
	}
	if n != want {
		b.Errorf("%s has %d rows, want %d", sheet, n, want)
	}
}
