package reports

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"
	"github.com/xuri/excelize/v2"

	"github.com/secmetrics/secmetrics/metrics"
	"github.com/secmetrics/secmetrics/queries"
	"github.com/secmetrics/secmetrics/queries/chtest"
)

// exportEnv is a scheduler over an empty database with a fake clock.
type exportEnv struct {
	db    *queries.DB
	r     *Reports
	clock *clockwork.FakeClock
	dir   string
}

func newExportEnv(t *testing.T, start time.Time) *exportEnv {
	db := chtest.New(t)
	e, err := metrics.New(db, metrics.Config{TimeZone: "Europe/Berlin"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	clk := clockwork.NewFakeClockAt(start)
	e.Now = clk.Now
	return &exportEnv{db: db, r: New(e, Options{Version: "v-test", Now: clk.Now}), clock: clk, dir: t.TempDir()}
}

func (x *exportEnv) scheduler(t *testing.T, cfg Config, client *http.Client) *Scheduler {
	env := map[string]string{"HOOK_SECRET": "s3cret", "SMTP_PASSWORD": "smtp-pw"}
	if errs := cfg.ResolveSecrets("reports", func(k string) string { return env[k] }, os.ReadFile); len(errs) > 0 {
		t.Fatal(errors.Join(errs...))
	}
	s, err := NewScheduler(cfg, x.r, x.db, SchedulerOptions{Clock: x.clock, HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown() })
	return s
}

// waitRuns polls export_runs (in real time) until cond holds.
func waitRuns(t *testing.T, s *Scheduler, cond func([]Run) bool) []Run {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		runs, err := s.ListRuns(context.Background(), 100)
		if err != nil {
			t.Fatal(err)
		}
		if cond(runs) {
			return runs
		}
		if time.Now().After(deadline) {
			t.Fatalf("runs never reached the expected state: %+v", runs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func finished(n int) func([]Run) bool {
	return func(runs []Run) bool {
		done := 0
		for _, r := range runs {
			if r.Status != RunRunning {
				done++
			}
		}
		return done >= n
	}
}

// hook is a webhook receiver that fails its first failures requests and
// checks every signature.
type hook struct {
	*httptest.Server
	mu       sync.Mutex
	failures int
	got      []Notification
	badSig   int
}

func newHook(t *testing.T, failures int) *hook {
	h := &hook{failures: failures}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		sec, _ := strconv.ParseInt(r.Header.Get(TimestampHeader), 10, 64)
		if r.Header.Get(SignatureHeader) != Sign("s3cret", time.Unix(sec, 0), body) {
			h.badSig++
		}
		var n Notification
		_ = json.Unmarshal(body, &n)
		h.got = append(h.got, n)
		if len(h.got) <= h.failures {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hook) notifications() []Notification {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Notification(nil), h.got...)
}

// TestScheduledExport: an export fires at its scheduled minute on a fake
// clock, its webhook fails twice and is retried with back-off (1 min,
// then 2 min, on the same clock), every attempt is recorded, the file is
// written once under its template name, and the notifications are signed.
func TestScheduledExport(t *testing.T) {
	x := newExportEnv(t, time.Date(2026, 10, 1, 3, 59, 0, 0, time.UTC)) // 05:59 in Berlin
	h := newHook(t, 2)
	cfg := Config{Exports: []Export{{
		Name: "qbr", Schedule: "0 6 1 1,4,7,10 *", TimeZone: "Europe/Berlin", Period: PreviousQuarter, Format: "csv",
		Directory: Directory{Path: x.dir}, Webhook: &Webhook{URL: h.URL, SecretEnv: "HOOK_SECRET"},
	}}}
	s := x.scheduler(t, cfg, h.Client())
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	next, _ := s.NextRun("qbr")
	if want := time.Date(2026, 10, 1, 4, 0, 0, 0, time.UTC); !next.Equal(want) {
		t.Errorf("next run %s, want %s", next, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := x.clock.BlockUntilContext(ctx, 1); err != nil { // the job's timer
		t.Fatal(err)
	}
	if runs, _ := s.ListRuns(ctx, 10); len(runs) != 0 {
		t.Fatalf("ran before its time: %+v", runs)
	}
	x.clock.Advance(time.Minute) // 06:00 Berlin: the job fires
	waitRuns(t, s, finished(1))
	if err := x.clock.BlockUntilContext(ctx, 2); err != nil { // next quarter's timer and the back-off
		t.Fatal(err)
	}
	x.clock.Advance(59 * time.Second)
	time.Sleep(100 * time.Millisecond)
	if runs, _ := s.ListRuns(ctx, 10); len(runs) != 1 {
		t.Fatalf("retried before the back-off: %d runs", len(runs))
	}
	x.clock.Advance(time.Second)
	waitRuns(t, s, finished(2))
	if err := x.clock.BlockUntilContext(ctx, 2); err != nil {
		t.Fatal(err)
	}
	x.clock.Advance(2 * time.Minute)
	runs := waitRuns(t, s, finished(3))

	if len(runs) != 3 {
		t.Fatalf("%d runs, want 3 attempts", len(runs))
	}
	slot := time.Date(2026, 10, 1, 4, 0, 0, 0, time.UTC)
	file := filepath.Join(x.dir, "qbr-2026-Q3-2026-10-01.csv")
	for i, r := range runs { // newest first
		attempt := 3 - i
		want := RunFailed
		if attempt == 3 {
			want = RunOK
		}
		if r.Attempt != attempt || r.Status != want || !r.ScheduledFor.Equal(slot) || r.Period != "2026-Q3" || r.File != file || r.Size == 0 || r.FinishedAt == nil {
			t.Errorf("run %d: %+v", attempt, r)
		}
		if want == RunFailed && !strings.Contains(r.Error, "webhook") {
			t.Errorf("attempt %d error %q, want the webhook's", attempt, r.Error)
		}
	}
	if runs[0].Destination != "directory,webhook" || runs[2].Destination != "directory" {
		t.Errorf("destinations %q … %q", runs[2].Destination, runs[0].Destination)
	}
	if !runs[0].StartedAt.Equal(slot.Add(3 * time.Minute)) {
		t.Errorf("last attempt started %s, want after 1 + 2 minutes of back-off", runs[0].StartedAt)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte(strings.Join(ScorecardColumns, ",")+"\r\n")) || !bytes.Contains(b, []byte("2026-Q3,")) {
		t.Errorf("export file:\n%.300s", b)
	}
	got := h.notifications()
	if len(got) != 3 || got[2].Event != "export.succeeded" || got[2].Period != "2026-Q3" || got[2].File != "qbr-2026-Q3-2026-10-01.csv" || got[2].SHA256 == "" {
		t.Errorf("notifications %+v", got)
	}
	if h.badSig != 0 {
		t.Errorf("%d notifications with a bad signature", h.badSig)
	}
	matches, _ := filepath.Glob(filepath.Join(x.dir, "*"))
	if len(matches) != 1 {
		t.Errorf("directory holds %v, want the one file (no temporary left)", matches)
	}
}

// TestExportFailureRecorded: a destination that keeps failing exhausts the
// bounded retries, every attempt is recorded as failed, and the webhook
// gets an export.failed notification.
func TestExportFailureRecorded(t *testing.T) {
	x := newExportEnv(t, time.Date(2026, 10, 5, 5, 59, 0, 0, time.UTC))
	h := newHook(t, 0)
	blocked := filepath.Join(x.dir, "not-a-dir")
	if err := os.WriteFile(blocked, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Retry: Retry{Attempts: 2, Backoff: 30 * time.Second}, Exports: []Export{{
		Name: "weekly", Schedule: "0 6 * * 1", Period: PreviousWeek, Format: "csv",
		Directory: Directory{Path: blocked}, Webhook: &Webhook{URL: h.URL, SecretEnv: "HOOK_SECRET"},
	}}}
	s := x.scheduler(t, cfg, h.Client())
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := x.clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	x.clock.Advance(time.Minute)
	waitRuns(t, s, finished(1))
	if err := x.clock.BlockUntilContext(ctx, 2); err != nil {
		t.Fatal(err)
	}
	x.clock.Advance(30 * time.Second)
	runs := waitRuns(t, s, finished(2))
	for _, r := range runs {
		if r.Status != RunFailed || !strings.Contains(r.Error, "directory") || r.Period != "2026-W40" {
			t.Errorf("run %+v", r)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(h.notifications()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	n := h.notifications()
	if len(n) != 1 || n[0].Event != "export.failed" || n[0].Attempt != 2 || !strings.Contains(n[0].Error, "directory") {
		t.Errorf("failure notification %+v", n)
	}
}

// TestExportEmail: RunNow renders the workbook and mails it through a
// local SMTP sink with STARTTLS and AUTH; the attachment is the workbook.
func TestExportEmail(t *testing.T) {
	x := newExportEnv(t, time.Date(2026, 10, 2, 7, 0, 0, 0, time.UTC))
	sink := newSMTPSink(t)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, sink.certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Exports: []Export{{
		Name: "qbr-mail", Schedule: "@monthly", Period: PreviousQuarter, Teams: []string{"payments"},
		Directory: Directory{Path: x.dir},
		Email: &Email{Host: "127.0.0.1", Port: sink.port, From: "secmetrics <secmetrics@example.com>", To: []string{"ciso@example.com", "cfo@example.com"},
			Username: "reports", PasswordEnv: "SMTP_PASSWORD", CAFile: caFile},
	}}}
	s := x.scheduler(t, cfg, nil)
	run, err := s.RunNow(context.Background(), "qbr-mail")
	if err != nil {
		t.Fatalf("%v (%+v)", err, run)
	}
	if run.Status != RunOK || run.Destination != "directory,email" || run.Attempt != 1 {
		t.Errorf("run %+v", run)
	}
	m := sink.message(t)
	if !m.tls || m.auth != "\x00reports\x00smtp-pw" || m.from != "secmetrics@example.com" || strings.Join(m.to, ",") != "ciso@example.com,cfo@example.com" {
		t.Errorf("envelope: tls %v auth %q from %q to %q", m.tls, m.auth, m.from, m.to)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(m.data))
	if err != nil {
		t.Fatal(err)
	}
	if subj, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); subj != "secmetrics export: qbr-mail 2026-Q3" {
		t.Errorf("subject %q", subj)
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var attachment []byte
	var name string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.FileName() != "" {
			name = p.FileName()
			attachment, err = io.ReadAll(base64.NewDecoder(base64.StdEncoding, p))
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if name != "qbr-mail-2026-Q3-2026-10-02.xlsx" {
		t.Errorf("attachment %q", name)
	}
	f, err := excelize.OpenReader(bytes.NewReader(attachment))
	if err != nil {
		t.Fatalf("attachment is not a workbook: %v", err)
	}
	defer f.Close()
	if got := f.GetSheetList(); len(got) < 20 || got[0] != sheetSummary {
		t.Errorf("attachment sheets %v", got)
	}
	if !sheetHas(t, f, sheetSummary, "teams payments") {
		t.Error("the workbook does not state the export's team scope")
	}
	disk, _ := os.ReadFile(filepath.Join(x.dir, name))
	if !bytes.Equal(disk, attachment) {
		t.Error("the mailed file differs from the written one")
	}
	if _, err := s.RunNow(context.Background(), "nope"); !errors.Is(err, ErrUnknownExport) {
		t.Errorf("unknown export: %v", err)
	}
}

// TestExportCatchUp: at start-up an export whose last success is three
// scheduled days ago runs once, for the latest missed slot only.
func TestExportCatchUp(t *testing.T) {
	x := newExportEnv(t, time.Date(2026, 10, 8, 9, 30, 0, 0, time.UTC))
	cfg := Config{Exports: []Export{
		{Name: "daily", Schedule: "0 6 * * *", Period: MonthToDate, Format: "csv", Directory: Directory{Path: x.dir}},
		{Name: "fresh", Schedule: "0 6 * * *", Period: MonthToDate, Format: "csv", Directory: Directory{Path: x.dir}},
		{Name: "new", Schedule: "0 6 * * *", Period: MonthToDate, Format: "csv", Directory: Directory{Path: x.dir}},
	}}
	s := x.scheduler(t, cfg, nil)
	store := &runStore{db: x.db}
	done := time.Date(2026, 10, 5, 6, 0, 30, 0, time.UTC)
	for _, r := range []Run{
		{Export: "daily", ScheduledFor: time.Date(2026, 10, 5, 6, 0, 0, 0, time.UTC), Status: RunOK},
		{Export: "daily", ScheduledFor: time.Date(2026, 10, 6, 6, 0, 0, 0, time.UTC), Status: RunFailed},
		{Export: "fresh", ScheduledFor: time.Date(2026, 10, 8, 6, 0, 0, 0, time.UTC), Status: RunOK},
	} {
		r.ID, r.StartedAt, r.FinishedAt, r.Attempt = uuid.NewString(), r.ScheduledFor, &done, 1
		if err := store.save(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	runs := waitRuns(t, s, finished(4))
	time.Sleep(300 * time.Millisecond) // nothing else may start
	runs, _ = s.ListRuns(context.Background(), 100)
	if len(runs) != 4 {
		t.Fatalf("%d runs, want the 3 recorded and one catch-up: %+v", len(runs), runs)
	}
	c := runs[0]
	if c.Export != "daily" || c.Status != RunOK || !c.ScheduledFor.Equal(time.Date(2026, 10, 8, 6, 0, 0, 0, time.UTC)) {
		t.Errorf("catch-up run %+v, want daily for 2026-10-08 06:00 only", c)
	}
	if c.Period != "2026-09-30T22:00:00Z/2026-10-08T06:00:00Z" {
		t.Errorf("catch-up period %q, want month to date of the missed slot", c.Period)
	}
}

// TestScheduleDST: the schedule runs in the export's zone; a time the
// spring change skips runs once at the first valid time after it, and a
// time the autumn change repeats runs once.
func TestScheduleDST(t *testing.T) {
	for _, c := range []struct {
		start time.Time
		want  []string
	}{
		{time.Date(2026, 3, 27, 12, 0, 0, 0, time.UTC), []string{"2026-03-28T02:30:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"}},
		{time.Date(2026, 10, 23, 12, 0, 0, 0, time.UTC), []string{"2026-10-24T02:30:00+02:00", "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"}},
	} {
		clk := clockwork.NewFakeClockAt(c.start)
		s, err := NewScheduler(Config{Exports: []Export{{Name: "night", Schedule: "30 2 * * *", TimeZone: "Europe/Berlin", Period: PreviousWeek, Directory: Directory{Path: "/tmp"}}}},
			New(nil, Options{}), nil, SchedulerOptions{Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		sched, err := gocron.NewScheduler(gocron.WithClock(clk), gocron.WithLocation(time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		def, opts := s.job(s.exports["night"])
		j, err := sched.NewJob(def, gocron.NewTask(func() {}), opts...)
		if err != nil {
			t.Fatal(err)
		}
		sched.Start()
		next, err := j.NextRuns(3)
		_ = sched.Shutdown()
		if err != nil {
			t.Fatal(err)
		}
		berlin, _ := time.LoadLocation("Europe/Berlin")
		var got []string
		for _, n := range next {
			got = append(got, n.In(berlin).Format(time.RFC3339))
		}
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("from %s: runs %v, want %v", c.start, got, c.want)
		}
	}
}

// smtpSink is a one-message SMTP server on loopback with STARTTLS and AUTH
// PLAIN.
type smtpSink struct {
	port    int
	certPEM []byte
	msgs    chan smtpMessage
}

type smtpMessage struct {
	tls  bool
	auth string
	from string
	to   []string
	data []byte
}

func newSMTPSink(t *testing.T) *smtpSink {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtp sink"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &smtpSink{port: ln.Addr().(*net.TCPAddr).Port, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), msgs: make(chan smtpMessage, 1)}
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
		var m smtpMessage
		r := bufio.NewReader(conn)
		var c net.Conn = conn
		say := func(line string) { _, _ = io.WriteString(c, line+"\r\n") }
		say("220 sink ESMTP")
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\r\n")
			cmd := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
			switch cmd {
			case "EHLO", "HELO":
				if m.tls {
					say("250-sink")
					say("250 AUTH PLAIN")
				} else {
					say("250-sink")
					say("250 STARTTLS")
				}
			case "STARTTLS":
				say("220 go ahead")
				tc := tls.Server(conn, &tls.Config{Certificates: []tls.Certificate{cert}})
				if err := tc.Handshake(); err != nil {
					return
				}
				c, r, m.tls = tc, bufio.NewReader(tc), true
			case "AUTH":
				parts := strings.Fields(line)
				if len(parts) == 3 {
					b, _ := base64.StdEncoding.DecodeString(parts[2])
					m.auth = string(b)
				}
				say("235 ok")
			case "MAIL":
				m.from = strings.Trim(strings.TrimPrefix(line[len("MAIL FROM:"):], " "), "<>")
				say("250 ok")
			case "RCPT":
				m.to = append(m.to, strings.Trim(strings.TrimPrefix(line[len("RCPT TO:"):], " "), "<>"))
				say("250 ok")
			case "DATA":
				say("354 go on")
				var data bytes.Buffer
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if l == ".\r\n" {
						break
					}
					data.WriteString(strings.TrimPrefix(l, "."))
				}
				m.data = data.Bytes()
				say("250 queued")
			case "QUIT":
				say("221 bye")
				s.msgs <- m
				return
			default:
				say("250 ok")
			}
		}
	}()
	return s
}

func (s *smtpSink) message(t *testing.T) smtpMessage {
	select {
	case m := <-s.msgs:
		return m
	case <-time.After(30 * time.Second):
		t.Fatal("no message reached the SMTP sink")
	}
	return smtpMessage{}
}
