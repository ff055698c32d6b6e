package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/secmetrics/secmetrics/queries/chtest"
)

// TestPullGitHub pulls the real Dependabot sample from an httptest GitHub
// and checks what lands in ClickHouse; a second pull changes nothing.
func TestPullGitHub(t *testing.T) {
	sample, err := os.ReadFile("../../../shared/samples/github/dependabot_alerts.json")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer test-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.URL.Path != "/repos/hassancs91/SimplerLLM/dependabot/alerts" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(sample)
	}))
	defer srv.Close()
	db := chtest.New(t)
	var out bytes.Buffer
	e := &env{ctx: context.Background(), stdout: &out, stderr: &out, log: newLogger(&out, LogConfig{Level: "error"})}
	e.cfg = defaults()
	e.cfg.GitHub = GitHubConfig{BaseURL: srv.URL, Repos: []string{"hassancs91/SimplerLLM"}, Dependabot: true, token: "test-token", TokenEnv: "GITHUB_TOKEN"}
	store := e.store(&database{db: db})
	for run := 1; run <= 2; run++ {
		out.Reset()
		if err := e.pullGitHub(store); err != nil {
			t.Fatalf("pull %d: %v\n%s", run, err, out.String())
		}
		want := "dependabot alerts of hassancs91/SimplerLLM: 76 alerts: 76 new, 0 fixed, 0 reopened, 0 unchanged"
		if run == 2 {
			want = "dependabot alerts of hassancs91/SimplerLLM: 76 alerts: 0 new, 0 fixed, 0 reopened, 76 unchanged"
		}
		if !strings.Contains(out.String(), want) {
			t.Fatalf("pull %d printed:\n%s\nwant %q", run, out.String(), want)
		}
	}
	var open, events uint64
	if err := db.QueryRow(context.Background(), "SELECT uniqExact(finding_id) FROM findings WHERE state = 'open' AND asset = 'github.com/hassancs91/SimplerLLM'", nil, &open); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(context.Background(), "SELECT count() FROM (SELECT DISTINCT finding_id, event_time, event_type FROM finding_events)", nil, &events); err != nil {
		t.Fatal(err)
	}
	if open != 76 || events != 76 {
		t.Fatalf("open findings %d, distinct events %d; want 76 and 76 (one detection each)", open, events)
	}
	st, err := store.State(context.Background(), "github")
	if err != nil || st.LastSuccess.IsZero() || st.Items != 152 {
		t.Fatalf("ingest state %+v, %v", st, err)
	}

	// A wrong token fails clearly and is recorded, naming the credential but not its value.
	e.cfg.GitHub.token = "wrong-token"
	err = e.pullGitHub(store)
	if err == nil || !strings.Contains(err.Error(), "github.GITHUB_TOKEN") || strings.Contains(err.Error(), "wrong-token") {
		t.Fatalf("bad token error: %v", err)
	}
	if st, _ := store.State(context.Background(), "github"); st.LastError == "" {
		t.Fatal("failure not recorded")
	}
}

// TestGitHubPoller: serve's GitHub poller pulls at once, then stops when its
// context is cancelled.
func TestGitHubPoller(t *testing.T) {
	pulls := make(chan struct{}, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pulls <- struct{}{}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("[]"))
	}))
	defer srv.Close()
	db := chtest.New(t)
	var out bytes.Buffer
	e := &env{ctx: context.Background(), stdout: &out, stderr: &out, log: newLogger(&out, LogConfig{Level: "error"})}
	e.cfg = defaults()
	e.cfg.GitHub = GitHubConfig{BaseURL: srv.URL, Repos: []string{"acme/api"}, Dependabot: true, token: "t", Interval: time.Hour}
	store := e.store(&database{db: db})
	ctx, cancel := context.WithCancel(context.Background())
	wait, err := e.startPollers(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-pulls:
	case <-time.After(10 * time.Second):
		t.Fatal("the poller did not pull at start")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := store.State(context.Background(), "github")
		if err == nil && !st.LastSuccess.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no successful pull recorded: %+v %v", st, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	done := make(chan struct{})
	go func() { wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("pollers did not stop")
	}
}
