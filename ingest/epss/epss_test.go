package epss

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/secmetrics/secmetrics/ingest"
)

// daily is the start of a real-looking daily file: the comment line, the
// header and rows spanning old and new CVE ids, tiny and large scores.
const daily = `#model_version:v2025.03.14,score_date:2025-08-25T12:55:00Z
cve,epss,percentile
CVE-1999-0001,0.01025,0.76954
CVE-2014-0160,0.94464,0.99981
CVE-2021-44228,0.94358,0.99957
CVE-2023-4863,0.00524,0.66587
CVE-2024-3094,0.85402,0.99355
CVE-2025-48384,0.00017,0.02674
CVE-2025-1000000,0.00000,0.00000
CVE-2025-9999,1.0,1
`

var dailyScores = []Score{
	{"CVE-1999-0001", 0.01025, 0.76954},
	{"CVE-2014-0160", 0.94464, 0.99981},
	{"CVE-2021-44228", 0.94358, 0.99957},
	{"CVE-2023-4863", 0.00524, 0.66587},
	{"CVE-2024-3094", 0.85402, 0.99355},
	{"CVE-2025-48384", 0.00017, 0.02674},
	{"CVE-2025-1000000", 0, 0},
	{"CVE-2025-9999", 1, 1},
}

func gz(t testing.TB, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := io.WriteString(w, s); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func readAll(t testing.TB, in []byte) ([]Score, Header, error) {
	t.Helper()
	var got []Score
	h, err := Read(context.Background(), bytes.NewReader(in), func(s Score) error {
		got = append(got, s)
		return nil
	})
	return got, h, err
}

func TestRead(t *testing.T) {
	wantHeader := Header{ModelVersion: "v2025.03.14", ScoreDate: time.Date(2025, 8, 25, 12, 55, 0, 0, time.UTC)}
	for _, tc := range []struct {
		name   string
		in     []byte
		header Header
		scores []Score
	}{
		{"plain", []byte(daily), wantHeader, dailyScores},
		{"gzip", gz(t, daily), wantHeader, dailyScores},
		{"CRLF, no final newline", []byte(strings.TrimSuffix(strings.ReplaceAll(daily, "\n", "\r\n"), "\r\n")), wantHeader, dailyScores},
		{"byte order mark", []byte("\ufeff" + daily), wantHeader, dailyScores},
		{"two gzip members", append(gz(t, daily), gz(t, "")...), wantHeader, dailyScores},
		{"pre-2023 offset", []byte("#model_version:v2022.01.01,score_date:2022-02-04T00:00:00+0000\ncve,epss,percentile\nCVE-2021-44228,0.97565,1.00000\n"),
			Header{ModelVersion: "v2022.01.01", ScoreDate: time.Date(2022, 2, 4, 0, 0, 0, 0, time.UTC)},
			[]Score{{"CVE-2021-44228", 0.97565, 1}}},
		{"fields in another order, offset date", []byte("#score_date:2025-08-25T14:55:00+02:00,model_version:v2025.03.14\nCVE,EPSS,Percentile\nCVE-2021-44228,0.9,0.9\n"),
			wantHeader, []Score{{"CVE-2021-44228", 0.9, 0.9}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, h, err := readAll(t, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.header, h); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.scores, got); diff != "" {
				t.Errorf("scores (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMalformed(t *testing.T) {
	const top = "#model_version:v2025.03.14,score_date:2025-08-25T12:55:00Z\ncve,epss,percentile\n"
	whole := gz(t, daily)
	corrupt := append([]byte(nil), whole...)
	corrupt[len(corrupt)-6] ^= 0xff // the CRC-32 at the end
	for _, tc := range []struct {
		name, in, path, msg string
	}{
		{"empty", "", "line 1", "empty file"},
		{"no comment line", "cve,epss,percentile\nCVE-2021-44228,0.9,0.9\n", "line 1", "want the #model_version comment line"},
		{"no model_version", "#score_date:2025-08-25T12:55:00Z\ncve,epss,percentile\n", "line 1", "no model_version"},
		{"no score_date", "#model_version:v2025.03.14\ncve,epss,percentile\n", "line 1", "no score_date"},
		{"bad score_date", "#model_version:v2025.03.14,score_date:25/08/2025\ncve,epss,percentile\n", "line 1", "not an RFC 3339 time"},
		{"comment only", "#model_version:v2025.03.14,score_date:2025-08-25T12:55:00Z\n", "line 2", "missing the cve,epss,percentile header"},
		{"missing header", "#model_version:v2025.03.14,score_date:2025-08-25T12:55:00Z\nCVE-2021-44228,0.9,0.9\n", "line 2", "want the header"},
		{"wrong header", "#model_version:v2025.03.14,score_date:2025-08-25T12:55:00Z\ncve,score,percentile\n", "line 2", "want the header"},
		{"no rows", top, "line 3", "no scores"},
		{"bad CVE", top + "CVE-2021-44228,0.9,0.9\nCVE-21-1,0.1,0.1\n", "line 4", `"CVE-21-1" is not a CVE id`},
		{"lower-case CVE", top + "cve-2021-44228,0.9,0.9\n", "line 3", "not a CVE id"},
		{"epss above 1", top + "CVE-2021-44228,1.2,0.9\n", "line 3", `epss: "1.2" is not a number in [0, 1]`},
		{"negative percentile", top + "CVE-2021-44228,0.2,-0.1\n", "line 3", "percentile: "},
		{"NaN", top + "CVE-2021-44228,NaN,0.5\n", "line 3", "epss: "},
		{"not a number", top + "CVE-2021-44228,high,0.5\n", "line 3", "epss: "},
		{"empty field", top + "CVE-2021-44228,,0.5\n", "line 3", "epss: "},
		{"two columns", top + "CVE-2021-44228,0.5\n", "line 3", "want 3 columns"},
		{"four columns", top + "CVE-2021-44228,0.5,0.5,x\n", "line 3", "found 4"},
		{"blank line", top + "CVE-2021-44228,0.5,0.5\n\nCVE-2021-44229,0.5,0.5\n", "line 4", "found 1"},
		{"line too long", top + "CVE-2021-44228,0.5," + strings.Repeat("5", 5000) + "\n", "line 3", "line of 4096 bytes or more"},
		{"truncated gzip", string(whole[:len(whole)-12]), "line 11", "truncated gzip stream"},
		{"damaged gzip", string(corrupt), "line 11", "damaged gzip stream"},
		{"gzip magic, bad header", "\x1f\x8b\x00\x00", "", "bad gzip header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := readAll(t, []byte(tc.in))
			var fe *ingest.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want *ingest.FormatError", err)
			}
			if fe.Format != "epss" || fe.Path != tc.path || !strings.Contains(fe.Msg, tc.msg) {
				t.Errorf("err = %q (path %q), want path %q and %q", err, fe.Path, tc.path, tc.msg)
			}
		})
	}
}

func TestReaderError(t *testing.T) {
	boom := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader(daily[:120]), iotestErr{boom})
	_, err := Read(context.Background(), r, func(Score) error { return nil })
	var fe *ingest.FormatError
	if !errors.Is(err, boom) || errors.As(err, &fe) {
		t.Errorf("err = %v, want the reader's error, not a format error", err)
	}
}

type iotestErr struct{ err error }

func (r iotestErr) Read([]byte) (int, error) { return 0, r.err }

func TestEmitErrorAndContext(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	_, err := Read(context.Background(), strings.NewReader(daily), func(Score) error {
		if n++; n == 2 {
			return stop
		}
		return nil
	})
	if err != stop || n != 2 {
		t.Errorf("emit error: got %v after %d rows, want it as is after 2", err, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n = 0
	_, err = Read(ctx, strings.NewReader(daily), func(Score) error {
		if n++; n == 3 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || n != 3 {
		t.Errorf("cancel: err %v after %d rows", err, n)
	}
}

// rows generates a file of n rows on the fly, so that the test shows Read
// streams a full-size day (about 300,000 rows) without it being in memory.
type rows struct {
	n, i int
	buf  []byte
}

func (r *rows) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.i == r.n {
			return 0, io.EOF
		}
		if r.i == 0 {
			r.buf = append(r.buf, "#model_version:v2025.03.14,score_date:2025-08-25T12:55:00Z\ncve,epss,percentile\n"...)
		}
		r.buf = fmt.Appendf(r.buf, "CVE-%d-%04d,%.5f,%.5f\n", 1999+r.i%27, r.i, float64(r.i%1000)/1000, float64(r.i)/float64(r.n))
		r.i++
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func TestFullDay(t *testing.T) {
	const n = 300_000
	count, sum := 0, 0.0
	last := Score{}
	_, err := Read(context.Background(), &rows{n: n}, func(s Score) error {
		count++
		sum += s.EPSS
		last = s
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if count != n {
		t.Errorf("rows = %d, want %d", count, n)
	}
	// Row 299999: year 1999 + 299999 mod 27, percentile 0.9999967 printed as 1.00000.
	if want := (Score{"CVE-2001-299999", 0.999, 1}); last != want {
		t.Errorf("last = %+v, want %+v", last, want)
	}
}

func FuzzRead(f *testing.F) {
	f.Add([]byte(daily))
	f.Add(gz(f, daily))
	f.Add([]byte("#model_version:v2022.01.01,score_date:2022-02-04T00:00:00+0000\r\ncve,epss,percentile\r\nCVE-2021-44228,0.97565,1.00000\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		got, h, err := readAll(t, in)
		if err != nil {
			return
		}
		if h.ModelVersion == "" || h.ScoreDate.IsZero() || len(got) == 0 {
			t.Errorf("accepted a file without header or rows: %+v, %d rows", h, len(got))
		}
		for _, s := range got {
			if !cveID.MatchString(s.CVE) || !(s.EPSS >= 0 && s.EPSS <= 1) || !(s.Percentile >= 0 && s.Percentile <= 1) {
				t.Errorf("invalid score accepted: %+v", s)
			}
		}
	})
}
