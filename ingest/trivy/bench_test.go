package trivy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/secmetrics/secmetrics/ingest"
)

// writeReport writes an image report with n vulnerabilities in one os-pkgs
// result, each shaped like the sample's (ids, package, versions, layer,
// CVSS, references, a description), about 900 bytes each.
func writeReport(w io.Writer, n int) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(`{"SchemaVersion": 2, "CreatedAt": "2025-01-02T03:04:05Z", "ArtifactName": "ghcr.io/org/app:1.0",
"ArtifactType": "container_image", "Metadata": {"RepoTags": ["ghcr.io/org/app:1.0"]}, "Results": [
{"Target": "ghcr.io/org/app:1.0 (debian 12.5)", "Class": "os-pkgs", "Type": "debian", "Vulnerabilities": [`)
	for i := 0; i < n; i++ {
		if i > 0 {
			bw.WriteByte(',')
		}
		fmt.Fprintf(bw, `
{"VulnerabilityID": "CVE-2024-%05d", "PkgID": "pkg%d@1.2.3-4", "PkgName": "pkg%d", "InstalledVersion": "1.2.3-4",
 "FixedVersion": "1.2.3-5", "Status": "fixed", "Layer": {"Digest": "sha256:9d48c3bd43c520dc2784e868a780e976b207cbf493eaff8c6596eb871cbd9609",
 "DiffID": "sha256:03901b4a2ea88eeaad62dbe59b072b28b6efa00491962b8741081c5df50c65e0"}, "SeveritySource": "nvd",
 "PrimaryURL": "https://avd.aquasec.com/nvd/cve-2024-%05d", "Fingerprint": "sha256:%064d",
 "Title": "pkg%d: a weakness", "Description": "A long description of the weakness that the report carries for every vulnerability and that the parser drops.",
 "Severity": "HIGH", "CweIDs": ["CWE-330"], "CVSS": {"nvd": {"V3Vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N", "V3Score": 5.3}},
 "References": ["https://example.com/a", "https://example.com/b"], "PublishedDate": "2024-09-10T17:15:00Z"}`, i%100000, i%5000, i%5000, i%100000, i, i%5000)
	}
	bw.WriteString("]}]}")
	return bw.Flush()
}

// A report far larger than the heap limit below is parsed with a bounded
// heap: it is streamed, not held.
func TestStreamsLargeReport(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and parses a 300 MB report")
	}
	const n = 300_000
	pr, pw := io.Pipe()
	size := make(chan int64, 1)
	go func() {
		cw := &countWriter{w: pw}
		pw.CloseWithError(writeReport(cw, n))
		size <- cw.n
	}()
	runtime.GC()
	var ms runtime.MemStats
	var peak uint64
	count := 0
	_, err := Parser{}.Parse(context.Background(), pr, func(ingest.Finding) error {
		count++
		if count%20_000 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
		return nil
	})
	if err != nil || count != n {
		t.Fatalf("got %d findings, error %v", count, err)
	}
	written := <-size
	t.Logf("report %d MB, peak heap %d MB", written>>20, peak>>20)
	if written < 250<<20 {
		t.Fatalf("report is only %d bytes: the test proves nothing", written)
	}
	if peak > 64<<20 {
		t.Errorf("peak heap %d MB while parsing a %d MB report: not streaming", peak>>20, written>>20)
	}
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func BenchmarkParse(b *testing.B) {
	const n = 200_000
	var buf bytes.Buffer
	if err := writeReport(&buf, n); err != nil {
		b.Fatal(err)
	}
	report := buf.Bytes()
	b.SetBytes(int64(len(report)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		count := 0
		_, err := Parser{}.Parse(context.Background(), bytes.NewReader(report), func(ingest.Finding) error {
			count++
			return nil
		})
		if err != nil || count != n {
			b.Fatalf("got %d findings, error %v", count, err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "findings/s")
}
