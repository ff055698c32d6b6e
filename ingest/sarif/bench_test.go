package sarif

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"testing"

	"github.com/secmetrics/secmetrics/ingest"
)

// genLog writes a Semgrep-shaped SARIF log of n results over 50 rules, with
// the tool before the results or (as Semgrep writes it) after them.
func genLog(n int, toolFirst bool) []byte {
	var b bytes.Buffer
	tool := func() {
		b.WriteString(`"tool":{"driver":{"name":"Semgrep OSS","semanticVersion":"1.69.0","rules":[`)
		for i := range 50 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"id":"rules.lang.security.rule-%d","name":"rules.lang.security.rule-%d","defaultConfiguration":{"level":"warning"},
"shortDescription":{"text":"Rule %d"},"fullDescription":{"text":"A long description of rule %d that explains the weakness."},
"help":{"text":"help","markdown":"help"},"properties":{"precision":"very-high","security-severity":"%s","tags":["CWE-79","security"]}}`,
				i, i, i, i, []string{"CRITICAL", "HIGH", "MEDIUM", "LOW", "7.5"}[i%5])
		}
		b.WriteString(`]}}`)
	}
	results := func() {
		b.WriteString(`"results":[`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"fingerprints":{"matchBasedId/v1":"%064x_0"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"src/module%d/file%d.ts","uriBaseId":"%%SRCROOT%%"},
"region":{"endColumn":40,"endLine":%d,"snippet":{"text":"    const x = dangerous(input%d)"},"startColumn":5,"startLine":%d}}}],
"message":{"text":"User input flows into a dangerous sink. Validate the input before use; see the rule documentation for details."},"properties":{},"ruleId":"rules.lang.security.rule-%d"}`,
				i, i%100, i%1000, i%500+1, i, i%500+1, i%50)
		}
		b.WriteString(`]`)
	}
	b.WriteString(`{"$schema":"https://docs.oasis-open.org/sarif/sarif/v2.1.0/os/schemas/sarif-schema-2.1.0.json","runs":[{"invocations":[{"executionSuccessful":true}],`)
	if toolFirst {
		tool()
		b.WriteByte(',')
		results()
	} else {
		results()
		b.WriteByte(',')
		tool()
	}
	b.WriteString(`}],"version":"2.1.0"}`)
	return b.Bytes()
}

// BenchmarkParse parses a generated log of 100,000 results. It reports
// findings per second and the peak live heap (as measured by the last
// garbage collection, sampled every 5,000 findings) above the live heap
// before the parse, which holds the input. It stays small when the tool
// comes first and grows by one compact record per result when the results
// come first.
func BenchmarkParse(b *testing.B) {
	const n = 100_000
	for _, order := range []struct {
		name      string
		toolFirst bool
	}{{"tool-first", true}, {"results-first", false}} {
		b.Run(order.name, func(b *testing.B) {
			data := genLog(n, order.toolFirst)
			live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
			runtime.GC()
			metrics.Read(live)
			base := live[0].Value.Uint64()
			var peak uint64
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				count := 0
				_, err := Parser{}.Parse(context.Background(), bytes.NewReader(data), func(ingest.Finding) error {
					count++
					if count%5000 == 0 {
						metrics.Read(live)
						peak = max(peak, live[0].Value.Uint64())
					}
					return nil
				})
				if err != nil || count != n {
					b.Fatalf("parsed %d findings, err %v", count, err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "findings/s")
			b.ReportMetric(float64(peak-min(peak, base))/(1<<20), "peak-heap-MB")
		})
	}
}
