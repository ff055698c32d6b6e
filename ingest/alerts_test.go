package ingest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/queries/chtest"
)

func TestParseDisposition(t *testing.T) {
	for in, want := range map[string]ingest.Disposition{
		"": ingest.DispositionNone, "none": ingest.DispositionNone, " true_positive ": ingest.DispositionTruePositive,
		"benign_positive": ingest.DispositionBenignPositive, "false_positive": ingest.DispositionFalsePositive,
		"duplicate": ingest.DispositionDuplicate, "undetermined": ingest.DispositionUndetermined,
	} {
		if got, err := ingest.ParseDisposition(in); err != nil || got != want {
			t.Errorf("ParseDisposition(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ingest.ParseDisposition("TruePositive"); err == nil {
		t.Error("ParseDisposition(TruePositive): no error")
	}
}

func TestDispositionMap(t *testing.T) {
	m, err := ingest.NewDispositionMap(
		map[string]ingest.Disposition{"FalsePositive": ingest.DispositionFalsePositive, "Other": ingest.DispositionUndetermined},
		map[string]string{"other": "benign_positive", "Testing": "none"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in   string
		want ingest.Disposition
		ok   bool
	}{
		{"", ingest.DispositionNone, true},
		{"falsepositive", ingest.DispositionFalsePositive, true},
		{"Other", ingest.DispositionBenignPositive, true}, // override wins, without case
		{"TESTING", ingest.DispositionNone, true},
		{"Weird", ingest.DispositionUndetermined, false},
	} {
		if got, ok := m.Map(c.in); got != c.want || ok != c.ok {
			t.Errorf("Map(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
	_, err = ingest.NewDispositionMap(nil, map[string]string{"a": "tp", "b": "false_positive", "c": "FP"})
	if err == nil || !strings.Contains(err.Error(), `"a"`) || !strings.Contains(err.Error(), `"c"`) {
		t.Errorf("bad overrides: error %v, want both a and c named", err)
	}
}

func TestAlertConfigValidate(t *testing.T) {
	c := ingest.AlertConfig{
		Name:    "bad name",
		Overlap: -time.Minute,
		Mapping: ingest.AlertMapping{
			Teams:        map[string]string{"service:x": ""},
			Dispositions: map[string]string{"Fp": "fp"},
		},
	}
	var msgs []string
	for _, e := range c.Validate("alerts.x") {
		msgs = append(msgs, e.Error())
	}
	want := []string{
		`alerts.x.name: "bad name" is not a valid instance name (letters, digits, '_', '.', '-'; at most 64)`,
		`alerts.x.overlap: must not be negative`,
		`alerts.x.mapping.teams["service:x"]: empty team`,
		`alerts.x.mapping.dispositions["Fp"]: unknown disposition "fp" (want one of true_positive, benign_positive, false_positive, duplicate, undetermined, none)`,
	}
	if diff := cmp.Diff(want, msgs); diff != "" {
		t.Errorf("Validate (-want +got):\n%s", diff)
	}
	if errs := (ingest.SecretRef{}).Validate("p", "token"); len(errs) != 1 || errs[0].Error() != "p.token_env: set token_env or token_file" {
		t.Errorf("empty SecretRef: %v", errs)
	}
}

func TestTeamMapping(t *testing.T) {
	m := ingest.AlertMapping{Teams: map[string]string{"service:Payments": "payments", "team:SOC": "soc"}, DefaultTeam: "security"}
	var a ingest.Alert
	m.MapTeam(&a, "service:PX1", "service:payments", "team:SOC")
	if a.Team != "payments" || len(a.Unmapped) != 0 {
		t.Errorf("mapped team = %q, unmapped %v", a.Team, a.Unmapped)
	}
	a = ingest.Alert{}
	m.MapTeam(&a, "", "service:Other")
	if a.Team != "security" || len(a.Unmapped) != 1 || a.Unmapped[0] != "team=service:Other" {
		t.Errorf("unmapped team = %q, unmapped %v", a.Team, a.Unmapped)
	}
}

func TestSummaryCountsDistinctAlerts(t *testing.T) {
	s := ingest.NewAlertSummary("x:y")
	s.Add(ingest.Alert{ID: "1", Team: "a", Unmapped: []string{"disposition=Weird"}, Disposition: ingest.DispositionUndetermined})
	s.Add(ingest.Alert{ID: "2", Team: "a"})
	s.Add(ingest.Alert{ID: "1", Team: "b", Disposition: ingest.DispositionTruePositive})
	want := map[ingest.Disposition]int{ingest.DispositionTruePositive: 1, ingest.DispositionNone: 1}
	if s.Read != 2 || !cmp.Equal(s.Dispositions, want) || s.Teams["a"] != 1 || s.Teams["b"] != 1 || len(s.Unmapped) != 0 {
		t.Errorf("summary = %+v", s)
	}
	var out bytes.Buffer
	if err := s.Print(&out); err != nil || !strings.Contains(out.String(), "true_positive  1") {
		t.Errorf("Print = %q, %v", out.String(), err)
	}
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func sampleAlert(id string) ingest.Alert {
	return ingest.Alert{
		Source: "test:main", ID: id, RuleID: "r1", RuleName: "Brute force",
		Severity: ingest.High, OriginalSeverity: "High",
		Created: at("2026-03-01T10:00:00Z"), FirstTriage: at("2026-03-01T10:05:00Z"),
		Closed: at("2026-03-01T11:00:00Z"), Updated: at("2026-03-01T11:00:00Z"),
		Status: "Closed", Disposition: ingest.DispositionFalsePositive, OriginalDisposition: "FalsePositive",
		AutoClosed: true, Assignee: "ann", Team: "soc", Asset: "web-1", Incident: "INC-1",
		Raw: []byte(`{"id":"` + id + `"}`),
	}
}

var ignoreTransient = cmpopts.IgnoreFields(ingest.Alert{}, "Raw", "Unmapped")

func TestSaveAlertsRoundTrip(t *testing.T) {
	s := ingest.NewStore(chtest.New(t), nil)
	ctx := context.Background()
	open := sampleAlert("b")
	open.FirstTriage, open.Closed, open.Disposition, open.OriginalDisposition, open.Severity = time.Time{}, time.Time{}, ingest.DispositionNone, "", ""
	in := []ingest.Alert{sampleAlert("a"), open}
	if err := s.SaveAlerts(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, err := s.Alerts(ctx, "test:main")
	if err != nil {
		t.Fatal(err)
	}
	in[1].Severity = ingest.Unknown
	if diff := cmp.Diff(in, got, ignoreTransient); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	raws := map[string]string{}
	if err := s.EachRaw(ctx, "test:main", "alert", func(k string, p []byte) error { raws[k] = string(p); return nil }); err != nil {
		t.Fatal(err)
	}
	if raws["a"] != `{"id":"a"}` || len(raws) != 2 {
		t.Errorf("raw payloads = %v", raws)
	}
	byID, err := s.AlertsByID(ctx, "test:main", []string{"b", "zz"})
	if err != nil || len(byID) != 1 || byID["b"].Status != "Closed" || !byID["b"].FirstTriage.IsZero() {
		t.Errorf("AlertsByID = %+v, %v", byID, err)
	}
}

func TestSaveAlertsVersions(t *testing.T) {
	s := ingest.NewStore(chtest.New(t), nil)
	ctx := context.Background()
	newer := sampleAlert("a")
	older := sampleAlert("a")
	older.Closed, older.Disposition, older.Updated, older.Status = time.Time{}, ingest.DispositionNone, at("2026-03-01T10:30:00Z"), "Active"
	// The newer snapshot first, then an old export: the newer one stays.
	if err := s.SaveAlerts(ctx, []ingest.Alert{newer}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveAlerts(ctx, []ingest.Alert{older}); err != nil {
		t.Fatal(err)
	}
	// The same update again with another mapping: the re-normalized row wins.
	remapped := newer
	remapped.Team = "appsec"
	if err := s.SaveAlerts(ctx, []ingest.Alert{remapped}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Alerts(ctx, "test:main")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Status != "Closed" || got[0].Team != "appsec" {
		t.Errorf("after three writes: %+v", got)
	}
}

func TestSaveAlertsRejectsWholeBatch(t *testing.T) {
	s := ingest.NewStore(chtest.New(t), nil)
	ctx := context.Background()
	bad := sampleAlert("bad")
	bad.Disposition = "tp"
	err := s.SaveAlerts(ctx, []ingest.Alert{sampleAlert("ok"), bad})
	if err == nil || !strings.Contains(err.Error(), `alert 1 ("bad")`) {
		t.Fatalf("error = %v", err)
	}
	if got, _ := s.Alerts(ctx, "test:main"); len(got) != 0 {
		t.Errorf("%d alerts written from a rejected batch", len(got))
	}
}

func TestPullAlertsLifecycle(t *testing.T) {
	s := ingest.NewStore(chtest.New(t), nil)
	ctx := context.Background()
	wm1 := at("2026-03-02T00:00:00Z")
	var sinces []time.Time
	fail := true
	p := ingest.AlertPull{
		Source: "test:main", SourceType: "test", Start: at("2026-01-01T00:00:00Z"), Overlap: time.Hour,
		Fetch: func(ctx context.Context, since time.Time, emit func(ingest.Alert) error) (time.Time, error) {
			sinces = append(sinces, since)
			if err := emit(sampleAlert("a")); err != nil {
				return time.Time{}, err
			}
			if fail {
				return time.Time{}, errors.New("500 from upstream")
			}
			if err := emit(sampleAlert("b")); err != nil {
				return time.Time{}, err
			}
			return wm1, nil
		},
	}
	// A dry run writes nothing at all.
	var out bytes.Buffer
	sum, err := s.PullAlerts(ctx, p, ingest.PullOptions{DryRun: true, Out: &out})
	if err == nil || sum.Read != 1 || out.Len() != 0 {
		t.Fatalf("failing dry run: %v, %+v, %q", err, sum, out.String())
	}
	if st, _ := s.State(ctx, "test:main"); st.LastError != "" || !st.LastAttempt.IsZero() {
		t.Errorf("dry run recorded state %+v", st)
	}
	// A failure keeps the watermark and records the error.
	if _, err := s.PullAlerts(ctx, p, ingest.PullOptions{}); err == nil {
		t.Fatal("no error")
	}
	st, _ := s.State(ctx, "test:main")
	if !st.Watermark.IsZero() || !strings.Contains(st.LastError, "500 from upstream") {
		t.Errorf("after failure: %+v", st)
	}
	// The re-run starts from the same place and commits the watermark.
	fail = false
	sum, err = s.PullAlerts(ctx, p, ingest.PullOptions{})
	if err != nil || sum.Written != 2 || !sum.Watermark.Equal(wm1) {
		t.Fatalf("second pull: %+v, %v", sum, err)
	}
	// The next pull starts one overlap before the watermark.
	if _, err := s.PullAlerts(ctx, p, ingest.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []time.Time{p.Start, p.Start, p.Start, wm1.Add(-time.Hour)}
	if diff := cmp.Diff(want, sinces); diff != "" {
		t.Errorf("since per pull (-want +got):\n%s", diff)
	}
	got, _ := s.Alerts(ctx, "test:main")
	if len(got) != 2 {
		t.Errorf("%d alerts stored, want 2", len(got))
	}
	// A dry run of a good pull prints the summary.
	out.Reset()
	if _, err := s.PullAlerts(ctx, p, ingest.PullOptions{DryRun: true, Out: &out}); err != nil || !strings.Contains(out.String(), "false_positive  2") {
		t.Errorf("dry run output %q, %v", out.String(), err)
	}
}

func TestImportAlertsRecordsState(t *testing.T) {
	s := ingest.NewStore(chtest.New(t), nil)
	ctx := context.Background()
	if err := s.Failed(ctx, "test:main", "test", errors.New("503 from upstream")); err != nil {
		t.Fatal(err)
	}
	sum, err := s.ImportAlerts(ctx, "test:main", "test", []ingest.Alert{sampleAlert("a"), sampleAlert("b")})
	if err != nil || sum.Written != 2 {
		t.Fatalf("import: %+v, %v", sum, err)
	}
	st, _ := s.State(ctx, "test:main")
	// Freshness sees the import; the pull's error and the watermark stay.
	if st.LastSuccess.IsZero() || st.Items != 2 || !st.Watermark.IsZero() || st.LastError != "503 from upstream" {
		t.Errorf("state after import: %+v", st)
	}
}

func TestPollAlerts(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	err := ingest.PollAlerts(ctx, time.Millisecond, nil, "test:main", func(context.Context, ingest.PullOptions) (ingest.AlertSummary, error) {
		calls++
		if calls == 3 {
			cancel()
		}
		return ingest.AlertSummary{}, errors.New("down") // a failure never ends the loop
	})
	if !errors.Is(err, context.Canceled) || calls != 3 {
		t.Errorf("PollAlerts = %v after %d pulls", err, calls)
	}
	if err := ingest.PollAlerts(ctx, 0, nil, "x", nil); err == nil {
		t.Error("no error for a zero interval")
	}
}

func TestAlertsByIDManyIDs(t *testing.T) {
	s := ingest.NewStore(chtest.New(t), nil)
	ctx := context.Background()
	var batch []ingest.Alert
	var ids []string
	for i := range 2500 {
		id := fmt.Sprintf("5e7c0a11-4b2d-4f6a-9c3e-%012d", i)
		a := sampleAlert(id)
		a.Raw = nil
		batch = append(batch, a)
		ids = append(ids, id)
	}
	if err := s.SaveAlerts(ctx, batch); err != nil {
		t.Fatal(err)
	}
	got, err := s.AlertsByID(ctx, "test:main", append(ids, "missing"))
	if err != nil || len(got) != 2500 {
		t.Fatalf("AlertsByID: %d alerts, %v", len(got), err)
	}
}
