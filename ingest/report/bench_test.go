package report_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/ingest/report"
	"github.com/secmetrics/secmetrics/queries/chtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

// benchFindings is the report size of the ingest benchmarks; override with
// SECMETRICS_BENCH_FINDINGS (the figure is 1,000,000).
func benchFindings() int {
	if v, err := strconv.Atoi(os.Getenv("SECMETRICS_BENCH_FINDINGS")); err == nil && v > 0 {
		return v
	}
	return 1_000_000
}

func writeSARIF(t testing.TB, path string, n int) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	const rules = 300
	fmt.Fprint(w, `{"$schema":"https://json.schemastore.org/sarif-2.1.0.json","version":"2.1.0","runs":[{"tool":{"driver":{"name":"Semgrep OSS","version":"1.69.0","rules":[`)
	sev := []string{"critical", "high", "medium", "low"}
	for i := range rules {
		if i > 0 {
			w.WriteByte(',')
		}
		fmt.Fprintf(w, `{"id":"rules.bench.r%d","name":"r%d","shortDescription":{"text":"Rule %d"},"properties":{"security-severity":"%s","tags":["security"]}}`, i, i, i, sev[i%4])
	}
	fmt.Fprint(w, `]}},"versionControlProvenance":[{"repositoryUri":"https://github.com/acme/bench","branch":"main"}],"results":[`)
	for i := range n {
		if i > 0 {
			w.WriteByte(',')
		}
		fmt.Fprintf(w, `{"ruleId":"rules.bench.r%d","level":"warning","message":{"text":"Finding %d"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"src/pkg%d/file%d.go"},"region":{"startLine":%d,"endLine":%d}}}],"fingerprints":{"matchBasedId/v1":"%064x"}}`,
			i%rules, i, i%500, i%7919, i%400+1, i%400+2, i)
	}
	fmt.Fprint(w, `]}]}`)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

func writeTrivy(t testing.TB, path string, n int) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprint(w, `{"SchemaVersion":2,"CreatedAt":"2026-10-01T10:00:00Z","ArtifactName":"ghcr.io/acme/bench:1.0","ArtifactType":"container_image","Metadata":{"RepoTags":["ghcr.io/acme/bench:1.0"]},"Results":[{"Target":"ghcr.io/acme/bench:1.0 (debian 12.5)","Class":"os-pkgs","Type":"debian","Vulnerabilities":[`)
	sev := []string{"CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"}
	for i := range n {
		if i > 0 {
			w.WriteByte(',')
		}
		fmt.Fprintf(w, `{"VulnerabilityID":"CVE-%d-%d","PkgName":"pkg%d","PkgPath":"usr/lib/pkg%d","InstalledVersion":"1.%d.0","FixedVersion":"1.%d.1","Severity":"%s","Title":"Issue %d","PrimaryURL":"https://avd.aquasec.com/nvd/cve-%d"}`,
			2020+i%6, 10000+i, i%20000, i%20000, i%50, i%50, sev[i%5], i, i)
	}
	fmt.Fprint(w, `]}]}`)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

func peakRSSMiB() float64 {
	data, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}

// benchIngest parses and stores a generated report end to end (detection,
// streaming parse, spool, lifecycle, inserts) into a real ClickHouse.
// Run with: go test -run=^$ -bench=Ingest -benchtime=1x ./ingest/report/
func benchIngest(b *testing.B, name string, write func(testing.TB, string, int)) {
	n := benchFindings()
	path := filepath.Join(b.TempDir(), name)
	write(b, path, n)
	st, _ := os.Stat(path)
	db := chtest.New(b)
	store := ingest.NewStore(db, nil)
	runtime.GC()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		ft, body, err := report.Open(f, "")
		if err != nil {
			b.Fatal(err)
		}
		sum, err := store.IngestScan(context.Background(), ingest.ScanInput{Name: name, Parser: ft.Parser, Format: ft.Name, Body: body,
			Asset: fmt.Sprintf("bench-%d", i), Time: time.Date(2026, 10, 1, 10, 0, 0, 0, time.UTC)})
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		if sum.New != n {
			b.Fatalf("ingested %d new findings, want %d", sum.New, n)
		}
		el := time.Since(start)
		b.ReportMetric(float64(n)/el.Seconds(), "findings/s")
	}
	b.ReportMetric(float64(st.Size())/(1<<20), "MiB-file")
	b.ReportMetric(peakRSSMiB(), "MiB-peak-RSS")
}

func BenchmarkIngestSARIF(b *testing.B) { benchIngest(b, "bench.sarif", writeSARIF) }
func BenchmarkIngestTrivy(b *testing.B) { benchIngest(b, "bench-trivy.json", writeTrivy) }
