package generic_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"gopkg.in/yaml.v3"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/ingest/generic"
	"github.com/secmetrics/secmetrics/ingest/transport"
	"github.com/secmetrics/secmetrics/queries/chtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

// csvConfig reads testdata/soar.csv: a SOAR's export with its own column
// names, local times in Berlin and its own severity and verdict words.
const csvConfig = `
name: soar
format: csv
time_format: "2006-01-02 15:04:05"
time_zone: Europe/Berlin
fields:
  id: Alert ID
  rule_id: Rule
  rule_name: Rule Name
  severity: Priority
  created: Opened
  first_triage: Acknowledged
  closed: Resolved
  updated: Last Update
  status: State
  disposition: Verdict
  auto_closed: Automated
  assignee: Owner
  team: Team
  asset: Host
  incident: Ticket
severities: {P1: critical, P2: high, P3: medium, P4: low}
mapping:
  teams: {"team:SOC": soc, "asset:db-01": data}
  default_team: security
  dispositions: {TP: true_positive, "FP - VPN": false_positive, Benign: benign_positive, Dup: duplicate}
`

// jsonlConfig reads testdata/soar.jsonl: the same alerts as nested JSON
// with epoch-millisecond times.
const jsonlConfig = `
name: soar
time_format: unix_ms
fields:
  id: alert.id
  rule_id: rule.id
  rule_name: rule.name
  severity: priority
  created: alert.created_ms
  first_triage: workflow.acknowledged_ms
  closed: workflow.resolved_ms
  updated: workflow.updated_ms
  status: workflow.state
  disposition: workflow.verdict
  auto_closed: workflow.automated
  assignee: workflow.owner
  team: team
  asset: alert.host.name
  incident: ticket
severities: {P1: critical, P2: high, P3: medium, P4: low}
mapping:
  teams: {"team:SOC": soc, "asset:db-01": data}
  default_team: security
  dispositions: {TP: true_positive, "FP - VPN": false_positive, Benign: benign_positive, Dup: duplicate}
`

func source(t testing.TB, cfgText string, store *ingest.Store) *generic.Source {
	t.Helper()
	var cfg generic.Config
	dec := yaml.NewDecoder(strings.NewReader(cfgText))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	s, err := generic.New(cfg, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// want is what soar.csv and soar.jsonl hold (08:00 in Berlin is 07:00Z).
var want = []ingest.Alert{
	{Source: "generic:soar", ID: "SOAR-1001", RuleID: "R-17", RuleName: "Impossible travel", Severity: ingest.High, OriginalSeverity: "P2",
		Created: at("2026-03-01T07:00:00Z"), FirstTriage: at("2026-03-01T07:04:00Z"), Closed: at("2026-03-01T08:30:00Z"), Updated: at("2026-03-01T08:30:00Z"),
		Status: "closed", Disposition: ingest.DispositionFalsePositive, OriginalDisposition: "FP - VPN",
		Assignee: "ann", Team: "soc", Asset: "vpn-gw-1", Incident: "INC-42"},
	{Source: "generic:soar", ID: "SOAR-1002", RuleID: "R-03", RuleName: "Malware beacon", Severity: ingest.Critical, OriginalSeverity: "P1",
		Created: at("2026-03-01T08:00:00Z"), FirstTriage: at("2026-03-01T08:02:00Z"), Closed: at("2026-03-01T09:00:00Z"), Updated: at("2026-03-01T09:00:00Z"),
		Status: "closed", Disposition: ingest.DispositionTruePositive, OriginalDisposition: "TP",
		Assignee: "bob", Team: "appsec", Asset: "ws-7", Incident: "INC-43"},
	{Source: "generic:soar", ID: "SOAR-1003", RuleID: "R-03", RuleName: "Malware beacon", Severity: ingest.Critical, OriginalSeverity: "P1",
		Created: at("2026-03-01T08:05:00Z"), Closed: at("2026-03-01T08:06:00Z"), Updated: at("2026-03-01T08:06:00Z"),
		Status: "closed", Disposition: ingest.DispositionDuplicate, OriginalDisposition: "Dup", AutoClosed: true,
		Team: "security", Asset: "ws-7", Unmapped: []string{"team=asset:ws-7"}},
	{Source: "generic:soar", ID: "SOAR-1004", RuleID: "R-09", RuleName: "Mass deletion", Severity: ingest.Medium, OriginalSeverity: "P3",
		Created: at("2026-03-01T10:00:00Z"), FirstTriage: at("2026-03-01T10:30:00Z"), Updated: at("2026-03-01T10:30:00Z"),
		Status: "in_progress", Assignee: "carol", Team: "data", Asset: "db-01"},
	{Source: "generic:soar", ID: "SOAR-1005", RuleID: "R-11", RuleName: "Test alert", Severity: ingest.Low, OriginalSeverity: "P4",
		Created: at("2026-03-01T11:00:00Z"), FirstTriage: at("2026-03-01T11:01:00Z"), Closed: at("2026-03-01T11:02:00Z"), Updated: at("2026-03-01T11:02:00Z"),
		Status: "closed", Disposition: ingest.DispositionUndetermined, OriginalDisposition: "Needs more data",
		Assignee: "carol", Team: "soc", Asset: "lab-1", Unmapped: []string{"disposition=Needs more data"}},
	{Source: "generic:soar", ID: "SOAR-1006", RuleID: "R-17", RuleName: "Impossible travel", Severity: ingest.Unknown, OriginalSeverity: "Sev-X",
		Created: at("2026-03-01T12:00:00Z"), Status: "open", Disposition: ingest.DispositionBenignPositive, OriginalDisposition: "Benign",
		Team: "soc", Asset: "vpn-gw-2"},
}

func TestParse(t *testing.T) {
	for _, c := range []struct{ file, cfg string }{{"soar.csv", csvConfig}, {"soar.jsonl", jsonlConfig}} {
		t.Run(c.file, func(t *testing.T) {
			f, err := os.Open("testdata/" + c.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := source(t, c.cfg, nil).Parse(context.Background(), f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(ingest.Alert{}, "Raw")); diff != "" {
				t.Errorf("alerts (-want +got):\n%s", diff)
			}
			if len(got) > 0 && !bytes.Contains(got[0].Raw, []byte("SOAR-1001")) {
				t.Errorf("raw payload %s", got[0].Raw)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	head := "Alert ID,Rule,Rule Name,Priority,Opened,Acknowledged,Resolved,Last Update,State,Verdict,Automated,Owner,Team,Host,Ticket\n"
	good := "A-1,R,N,P1,2026-03-01 08:00:00,,,,open,,,,,,\n"
	for _, c := range []struct {
		name, cfg, data, want string
	}{
		{"empty", csvConfig, "", "empty file"},
		{"header only", csvConfig, head, "no alerts"},
		{"missing column", csvConfig, "Alert ID,Opened\nA-1,2026-03-01 08:00:00\n", `line 1: no column "Rule" (named in fields)`},
		{"no id", csvConfig, head + good + ",R,N,P1,2026-03-01 08:00:00,,,,open,,,,,,\n", `line 3: id ("Alert ID") missing`},
		{"bad created", csvConfig, head + good + "A-2,R,N,P1,01/03/2026,,,,open,,,,,,\n", `line 3: alert "A-2": created ("Opened"): "01/03/2026" does not match`},
		{"no created", csvConfig, head + good + good + "A-3,R,N,P1,,,,,open,,,,,,\n", `line 4: alert "A-3": created ("Opened") missing`},
		{"bad boolean", csvConfig, head + "A-1,R,N,P1,2026-03-01 08:00:00,,,,open,,maybe,,,,\n", `auto_closed ("Automated"): "maybe" is not a boolean`},
		{"ragged", csvConfig, head + good + "A-2,R\n", "record on line 3: wrong number of fields"},
		{"bad quote", csvConfig, head + good + `A-2,"R,N` + "\n", "extraneous or missing"},
		{"bad json", jsonlConfig, `{"alert":{"id":"a","created_ms":1772348400000}}` + "\n" + `{"alert":` + "\n", "line 2: malformed JSON"},
		{"json array line", jsonlConfig, `{"alert":{"id":"a","created_ms":1772348400000}}` + "\n" + `[1,2]` + "\n", "line 2: malformed JSON"},
		{"detected as csv", jsonlConfig, `[1,2]` + "\n", `line 1: no column "alert.id" (named in fields)`},
		{"two values", jsonlConfig, `{"alert":{"id":"a","created_ms":1}} {"x":1}` + "\n", "line 1: more than one JSON value"},
		{"object as value", jsonlConfig, `{"alert":{"id":{"x":1},"created_ms":1772348400000}}` + "\n", `field "alert.id" is an object or a list`},
		{"bad epoch", jsonlConfig, `{"alert":{"id":"a","created_ms":"soon"}}` + "\n", `line 1: alert "a": created ("alert.created_ms"): "soon" is not a number`},
		{"far future", jsonlConfig, `{"alert":{"id":"a","created_ms":99999999999999999}}` + "\n", "outside 1970-2106"},
		{"format mismatch", strings.Replace(csvConfig, "format: csv", "format: jsonl", 1), head, "line 1: malformed JSON"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := source(t, c.cfg, nil).Parse(context.Background(), strings.NewReader(c.data))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, want %q", err, c.want)
			}
			if got != nil {
				t.Errorf("alerts returned with an error: %d", len(got))
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	cfg := csvConfig + "max_rows: 2\nmax_bytes: 4096\n"
	head := "Alert ID,Rule,Rule Name,Priority,Opened,Acknowledged,Resolved,Last Update,State,Verdict,Automated,Owner,Team,Host,Ticket\n"
	row := "A-1,R,N,P1,2026-03-01 08:00:00,,,,open,,,,,,\n"
	_, err := source(t, cfg, nil).Parse(context.Background(), strings.NewReader(head+row+row+row))
	if err == nil || !strings.Contains(err.Error(), "line 4: more than 2 rows") {
		t.Errorf("rows: %v", err)
	}
	_, err = source(t, strings.Replace(cfg, "max_rows: 2", "max_rows: 1000", 1), nil).Parse(context.Background(), strings.NewReader(head+strings.Repeat(row, 200)))
	if !errors.Is(err, transport.ErrTooLarge) {
		t.Errorf("bytes: %v, want ErrTooLarge", err)
	}
	long := `{"alert":{"id":"a","created_ms":1772348400000},"pad":"` + strings.Repeat("x", 1<<20) + `"}` + "\n"
	_, err = source(t, jsonlConfig+"max_bytes: 4194304\n", nil).Parse(context.Background(), strings.NewReader(long))
	if err == nil || !strings.Contains(err.Error(), "line 1: line longer than") {
		t.Errorf("long line: %v", err)
	}
}

func TestImport(t *testing.T) {
	ctx := context.Background()
	store := ingest.NewStore(chtest.New(t), nil)
	src := source(t, csvConfig, store)
	f, err := os.Open("testdata/soar.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sum, err := src.Import(ctx, f, "soar.csv")
	if err != nil {
		t.Fatal(err)
	}
	wantCounts := map[ingest.Disposition]int{ingest.DispositionTruePositive: 1, ingest.DispositionBenignPositive: 1, ingest.DispositionFalsePositive: 1,
		ingest.DispositionDuplicate: 1, ingest.DispositionUndetermined: 1, ingest.DispositionNone: 1}
	if sum.Written != 6 || !cmp.Equal(sum.Dispositions, wantCounts) || !cmp.Equal(sum.Unmapped, map[string]int{"team=asset:ws-7": 1, "disposition=Needs more data": 1}) {
		t.Errorf("summary = %+v", sum)
	}
	got, err := store.Alerts(ctx, "generic:soar")
	if err != nil {
		t.Fatal(err)
	}
	// SOAR-1006 has no update time: the store stamps the write time.
	if len(got) == 6 && !got[5].Updated.IsZero() {
		got[5].Updated = time.Time{}
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(ingest.Alert{}, "Raw", "Unmapped")); diff != "" {
		t.Errorf("stored alerts (-want +got):\n%s", diff)
	}
	// A file with one bad row writes nothing.
	store = ingest.NewStore(chtest.New(t), nil)
	src = source(t, csvConfig, store)
	data, _ := os.ReadFile("testdata/soar.csv")
	bad := string(data) + "SOAR-1007,R,N,P1,yesterday,,,,open,,,,,,\r\n"
	if _, err := src.Import(ctx, strings.NewReader(bad), "bad.csv"); err == nil || !strings.Contains(err.Error(), "import bad.csv: line 8") {
		t.Errorf("bad file: %v", err)
	}
	if got, _ := store.Alerts(ctx, "generic:soar"); len(got) != 0 {
		t.Errorf("%d alerts stored from a rejected file", len(got))
	}
}

func TestConfigValidate(t *testing.T) {
	var cfg generic.Config
	if err := yaml.Unmarshal([]byte(`
name: ""
format: xml
comma: ";;"
time_format: "dd.mm.yyyy"
time_zone: Mars/Olympus
severities: {P1: urgent}
max_rows: -1
fields:
  rule_id: rule
`), &cfg); err != nil {
		t.Fatal(err)
	}
	want := `alerts.generic[0].name: "" is not a valid instance name (letters, digits, '_', '.', '-'; at most 64)
alerts.generic[0].format: "xml" is not csv or jsonl
alerts.generic[0].comma: ";;" is not a single separator character
alerts.generic[0].fields.id: required
alerts.generic[0].fields.created: required
alerts.generic[0].time_format: "dd.mm.yyyy" is not rfc3339, unix, unix_ms or a Go layout (e.g. "2006-01-02 15:04:05")
alerts.generic[0].time_zone: unknown time zone Mars/Olympus
alerts.generic[0].severities["P1"]: "urgent" is not critical, high, medium, low, info or unknown
alerts.generic[0].max_rows: must not be negative`
	err := cfg.Validate("alerts.generic[0]")
	if err == nil {
		t.Fatal("no error")
	}
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("Validate (-want +got):\n%s", diff)
	}
}

// FuzzImport feeds arbitrary files to the importer's parser in both
// formats: it must never panic, and whatever it accepts must be writable
// (an id, a created time in range, valid disposition and severity).
//
//	go test -run '^$' -fuzz '^FuzzImport$' -fuzztime 30s -fuzzminimizetime 2s ./ingest/generic/
func FuzzImport(f *testing.F) {
	for _, name := range []string{"soar.csv", "soar.jsonl"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, strings.HasSuffix(name, ".jsonl"))
	}
	f.Add([]byte("Alert ID,Opened\n\"A\"\"1\",2026-03-01 08:00:00\n"), false)
	f.Add([]byte(`{"alert":{"id":"x","created_ms":1.5e12},"workflow":{"automated":true}}`), true)
	csvSrc := source(f, csvConfig+"max_bytes: 65536\nmax_rows: 500\n", nil)
	jsonSrc := source(f, jsonlConfig+"max_bytes: 65536\nmax_rows: 500\n", nil)
	f.Fuzz(func(t *testing.T, data []byte, jsonl bool) {
		src := csvSrc
		if jsonl {
			src = jsonSrc
		}
		alerts, err := src.Parse(context.Background(), bytes.NewReader(data))
		if err != nil {
			if alerts != nil {
				t.Fatalf("alerts with an error")
			}
			return
		}
		if len(alerts) == 0 {
			t.Fatal("no alerts and no error")
		}
		for _, a := range alerts {
			if a.ID == "" || a.Created.IsZero() || a.Created.Unix() < 0 || a.Created.Unix() >= 1<<32 || a.Source != "generic:soar" {
				t.Fatalf("unwritable alert %+v", a)
			}
			if _, err := ingest.ParseDisposition(string(a.Disposition)); err != nil {
				t.Fatalf("alert %q: %v", a.ID, err)
			}
			switch a.Severity {
			case ingest.Critical, ingest.High, ingest.Medium, ingest.Low, ingest.Info, ingest.Unknown:
			default:
				t.Fatalf("alert %q: severity %q", a.ID, a.Severity)
			}
		}
	})
}
