package metrics_test

import (
	"os"
	"testing"

	"github.com/secmetrics/secmetrics/metrics"
)

// TestDoc fails when docs/metrics.md differs from what the catalog
// generates; go test ./metrics -run TestDoc -update rewrites it.
func TestDoc(t *testing.T) {
	doc, err := metrics.Doc()
	if err != nil {
		t.Fatal(err)
	}
	const path = "../docs/metrics.md"
	if *update {
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (generate it with go test ./metrics -run TestDoc -update)", err)
	}
	if string(want) != doc {
		t.Errorf("docs/metrics.md is not what the catalog generates: run go test ./metrics -run TestDoc -update and commit it")
	}
}
