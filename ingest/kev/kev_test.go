package kev

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/secmetrics/secmetrics/ingest"
)

const sample = "../../../shared/samples/kev/known_exploited_vulnerabilities.json"

func readAll(t testing.TB, data []byte) ([]Entry, Catalog, error) {
	t.Helper()
	var es []Entry
	cat, err := Read(context.Background(), bytes.NewReader(data), func(e Entry) error {
		es = append(es, e)
		return nil
	})
	return es, cat, err
}

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

// The expected figures were computed from the sample with python3's json
// module, not from this reader's output.
func TestSample(t *testing.T) {
	data, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	es, cat, err := readAll(t, data)
	if err != nil {
		t.Fatal(err)
	}
	want := Catalog{Version: "2025.08.25", Released: time.Date(2025, 8, 25, 17, 4, 19, 979600000, time.UTC), Count: 1404}
	if diff := cmp.Diff(want, cat); diff != "" {
		t.Errorf("catalog (-want +got):\n%s", diff)
	}
	if len(es) != 1404 {
		t.Fatalf("entries = %d, want 1404", len(es))
	}
	ransomware, added2025, microsoft := 0, 0, 0
	cves := map[string]bool{}
	for _, e := range es {
		if e.Ransomware {
			ransomware++
		}
		if e.DateAdded.Year() == 2025 {
			added2025++
		}
		if e.VendorProject == "Microsoft" {
			microsoft++
		}
		cves[e.CVE] = true
	}
	for name, c := range map[string][2]int{
		"ransomware Known": {ransomware, 293},
		"added in 2025":    {added2025, 165},
		"Microsoft":        {microsoft, 340},
		"distinct CVEs":    {len(cves), 1404},
	} {
		if c[0] != c[1] {
			t.Errorf("%s = %d, want %d", name, c[0], c[1])
		}
	}
	for i, w := range map[int]Entry{
		0: {CVE: "CVE-2025-48384", DateAdded: day("2025-08-25"), DueDate: day("2025-09-15"),
			VendorProject: "Git", Product: "Git", Name: "Git Link Following Vulnerability"},
		1107: {CVE: "CVE-2021-44228", DateAdded: day("2021-12-10"), DueDate: day("2021-12-24"), Ransomware: true,
			VendorProject: "Apache", Product: "Log4j2", Name: "Apache Log4j2 Remote Code Execution Vulnerability"},
		1403: {CVE: "CVE-2020-29583", DateAdded: day("2021-11-03"), DueDate: day("2022-05-03"),
			VendorProject: "Zyxel", Product: "Multiple Products", Name: "Zyxel Multiple Products Use of Hard-Coded Credentials Vulnerability"},
	} {
		if diff := cmp.Diff(w, es[i]); diff != "" {
			t.Errorf("entry %d (-want +got):\n%s", i, diff)
		}
	}
}

// catalog builds a small catalog; edit changes its decoded form first.
func catalog(t *testing.T, edit func(c map[string]any)) string {
	t.Helper()
	c := map[string]any{
		"title":          "CISA Catalog of Known Exploited Vulnerabilities",
		"catalogVersion": "2025.08.25",
		"dateReleased":   "2025-08-25T17:04:19.9796Z",
		"count":          2,
		"vulnerabilities": []any{
			map[string]any{"cveID": "CVE-2025-48384", "vendorProject": "Git", "product": "Git", "vulnerabilityName": "Git Link Following Vulnerability",
				"dateAdded": "2025-08-25", "dueDate": "2025-09-15", "knownRansomwareCampaignUse": "Unknown", "cwes": []any{"CWE-59"}},
			map[string]any{"cveID": "CVE-2021-44228", "vendorProject": "Apache", "product": "Log4j2", "vulnerabilityName": "Apache Log4j2 Remote Code Execution Vulnerability",
				"dateAdded": "2021-12-10", "dueDate": "2021-12-24", "knownRansomwareCampaignUse": "Known", "cwes": []any{"CWE-20"}},
		},
	}
	if edit != nil {
		edit(c)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func second(c map[string]any) map[string]any {
	return c["vulnerabilities"].([]any)[1].(map[string]any)
}

func TestVariants(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want Catalog
	}{
		{"as built", catalog(t, nil), Catalog{Version: "2025.08.25", Released: time.Date(2025, 8, 25, 17, 4, 19, 979600000, time.UTC), Count: 2}},
		{"no count", catalog(t, func(c map[string]any) { delete(c, "count") }), Catalog{Version: "2025.08.25", Released: time.Date(2025, 8, 25, 17, 4, 19, 979600000, time.UTC), Count: 2}},
		{"date-only release, count after the list", `{"vulnerabilities":[],"dateReleased":"2025-08-25","count":0}`, Catalog{Released: day("2025-08-25")}},
		{"no ransomware field", catalog(t, func(c map[string]any) { delete(second(c), "knownRansomwareCampaignUse") }), Catalog{Version: "2025.08.25", Released: time.Date(2025, 8, 25, 17, 4, 19, 979600000, time.UTC), Count: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, cat, err := readAll(t, []byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, cat); diff != "" {
				t.Errorf("catalog (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMalformed(t *testing.T) {
	full := catalog(t, nil)
	for _, tc := range []struct {
		name, in, path, msg string
	}{
		{"empty", "", "", "truncated"},
		{"array", "[]", "", `want "{"`},
		{"truncated", full[:len(full)-60], "vulnerabilities[1]", "truncated"},
		{"trailing", full + "{}", "", "after the catalog"},
		{"no vulnerabilities", `{"catalogVersion":"x","count":0}`, "vulnerabilities", "missing"},
		{"vulnerabilities null", `{"vulnerabilities":null}`, "vulnerabilities", `want "["`},
		{"count mismatch", catalog(t, func(c map[string]any) { c["count"] = 3 }), "count", "says 3 vulnerabilities but holds 2"},
		{"count negative", catalog(t, func(c map[string]any) { c["count"] = -1 }), "count", "negative"},
		{"count fraction", catalog(t, func(c map[string]any) { c["count"] = 2.5 }), "count", "cannot be a int"},
		{"count string", catalog(t, func(c map[string]any) { c["count"] = "2" }), "count", "cannot be a int"},
		{"duplicate key", `{"vulnerabilities":[],"vulnerabilities":[]}`, "vulnerabilities", "appears twice"},
		{"bad release", catalog(t, func(c map[string]any) { c["dateReleased"] = "yesterday" }), "dateReleased", "not an RFC 3339 time"},
		{"bad CVE", catalog(t, func(c map[string]any) { second(c)["cveID"] = "CVE-21-44228" }), "vulnerabilities[1].cveID", "not a CVE id"},
		{"CVE with suffix", catalog(t, func(c map[string]any) { second(c)["cveID"] = "CVE-2021-44228 " }), "vulnerabilities[1].cveID", "not a CVE id"},
		{"missing CVE", catalog(t, func(c map[string]any) { delete(second(c), "cveID") }), "vulnerabilities[1].cveID", "not a CVE id"},
		{"CVE number", catalog(t, func(c map[string]any) { second(c)["cveID"] = 44228 }), "vulnerabilities[1].cveID", "cannot be a string"},
		{"bad dateAdded", catalog(t, func(c map[string]any) { second(c)["dateAdded"] = "2021-12-32" }), "vulnerabilities[1].dateAdded", "not a YYYY-MM-DD date"},
		{"missing dueDate", catalog(t, func(c map[string]any) { delete(second(c), "dueDate") }), "vulnerabilities[1].dueDate", "not a YYYY-MM-DD date"},
		{"bad ransomware", catalog(t, func(c map[string]any) { second(c)["knownRansomwareCampaignUse"] = "Yes" }), "vulnerabilities[1].knownRansomwareCampaignUse", "neither Known nor Unknown"},
		{"entry not an object", catalog(t, func(c map[string]any) { c["vulnerabilities"].([]any)[1] = "CVE-2021-44228" }), "vulnerabilities[1]", "cannot be a kev.rawEntry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := readAll(t, []byte(tc.in))
			var fe *ingest.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want *ingest.FormatError", err)
			}
			if fe.Format != "kev" || fe.Path != tc.path || !strings.Contains(fe.Msg, tc.msg) {
				t.Errorf("err = %q (path %q), want path %q and %q", err, fe.Path, tc.path, tc.msg)
			}
		})
	}
}

func TestEmitErrorAndContext(t *testing.T) {
	stop := errors.New("stop")
	_, err := Read(context.Background(), strings.NewReader(catalog(t, nil)), func(Entry) error { return stop })
	if err != stop {
		t.Errorf("emit error: got %v, want it as is", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	_, err = Read(ctx, strings.NewReader(catalog(t, nil)), func(Entry) error { n++; cancel(); return nil })
	if !errors.Is(err, context.Canceled) || n != 1 {
		t.Errorf("cancel: err %v after %d entries", err, n)
	}
}

func FuzzRead(f *testing.F) {
	data, err := os.ReadFile(sample)
	if err != nil {
		f.Fatal(err)
	}
	// The catalog's head and a few of its entries, not all 1.2 MB: large
	// seeds make mutation slow (TestSample reads the whole file).
	var c struct {
		Vulnerabilities []json.RawMessage `json:"vulnerabilities"`
	}
	if err := json.Unmarshal(data, &c); err != nil {
		f.Fatal(err)
	}
	small, _ := json.Marshal(map[string]any{"catalogVersion": "2025.08.25", "dateReleased": "2025-08-25T17:04:19.9796Z", "count": 3, "vulnerabilities": c.Vulnerabilities[:3]})
	f.Add(small)
	f.Add([]byte(`{"vulnerabilities":[]}`))
	f.Add([]byte(`{"count":1,"vulnerabilities":[{"cveID":"CVE-2024-0001","dateAdded":"2024-01-01","dueDate":"2024-01-22","knownRansomwareCampaignUse":"Known"}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		es, cat, err := readAll(t, in)
		if err != nil {
			return
		}
		if !json.Valid(in) {
			t.Errorf("accepted invalid JSON %q", in)
		}
		if cat.Count != len(es) {
			t.Errorf("Count %d, entries %d", cat.Count, len(es))
		}
		for _, e := range es {
			if !cveID.MatchString(e.CVE) || e.DateAdded.IsZero() || e.DueDate.IsZero() {
				t.Errorf("invalid entry accepted: %+v", e)
			}
		}
	})
}
