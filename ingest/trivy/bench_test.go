package trivy

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/secmetrics/secmetrics/ingest"
)

// benchReport generates an image report with n vulnerabilities in one
// os-pkgs result, each shaped like the sample's (ids, package, versions,
// layer, CVSS, references, a description).
func benchReport(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"SchemaVersion": 2, "CreatedAt": "2025-01-02T03:04:05Z", "ArtifactName": "ghcr.io/org/app:1.0",
"ArtifactType": "container_image", "Metadata": {"RepoTags": ["ghcr.io/org/app:1.0"]}, "Results": [
{"Target": "ghcr.io/org/app:1.0 (debian 12.5)", "Class": "os-pkgs", "Type": "debian", "Vulnerabilities": [`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `
{"VulnerabilityID": "CVE-2024-%05d", "PkgID": "pkg%d@1.2.3-4", "PkgName": "pkg%d", "InstalledVersion": "1.2.3-4",
 "FixedVersion": "1.2.3-5", "Status": "fixed", "Layer": {"Digest": "sha256:9d48c3bd43c520dc2784e868a780e976b207cbf493eaff8c6596eb871cbd9609",
 "DiffID": "sha256:03901b4a2ea88eeaad62dbe59b072b28b6efa00491962b8741081c5df50c65e0"}, "SeveritySource": "nvd",
 "PrimaryURL": "https://avd.aquasec.com/nvd/cve-2024-%05d", "Fingerprint": "sha256:%064d",
 "Title": "pkg%d: a weakness", "Description": "A long description of the weakness that the report carries for every vulnerability and that the parser drops.",
 "Severity": "HIGH", "CweIDs": ["CWE-330"], "CVSS": {"nvd": {"V3Vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N", "V3Score": 5.3}},
 "References": ["https://example.com/a", "https://example.com/b"], "PublishedDate": "2024-09-10T17:15:00Z"}`, i%100000, i%5000, i%5000, i%100000, i, i%5000)
	}
	b.WriteString("]}]}")
	return b.Bytes()
}

func BenchmarkParse(b *testing.B) {
	const n = 200_000
	report := benchReport(n)
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
