package ingest_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/queries/chtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

func TestStateRoundTrip(t *testing.T) {
	db := chtest.New(t)
	s := ingest.NewStore(db, nil)
	ctx := context.Background()
	st, err := s.State(ctx, "jira-main")
	if err != nil || !st.Watermark.IsZero() || st.Source != "jira-main" {
		t.Fatalf("empty state = %+v, %v", st, err)
	}
	wm := time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)
	if err := s.Succeeded(ctx, "jira-main", "jira", wm, 42); err != nil {
		t.Fatal(err)
	}
	if err := s.Failed(ctx, "jira-main", "jira", errors.New("401 from https://jira.example/rest/api/3/search/jql")); err != nil {
		t.Fatal(err)
	}
	st, err = s.State(ctx, "jira-main")
	if err != nil {
		t.Fatal(err)
	}
	if !st.Watermark.Equal(wm) || st.Items != 42 || st.LastSuccess.IsZero() || st.LastError == "" || st.SourceType != "jira" {
		t.Fatalf("state = %+v", st)
	}
	all, err := s.States(ctx)
	if err != nil || len(all) != 1 || all[0].Source != "jira-main" {
		t.Fatalf("States = %+v, %v", all, err)
	}
}

func TestRawRoundTrip(t *testing.T) {
	db := chtest.New(t)
	s := ingest.NewStore(db, nil)
	ctx := context.Background()
	big := bytes.Repeat([]byte("random-ish payload 0123456789 "), 1<<20) // 30 MiB, compresses well
	if err := s.SaveRaw(ctx, "jira", "issue", "SEC-1", []byte(`{"v":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveRaw(ctx, "jira", "issue", "SEC-1", []byte(`{"v":2}`)); err != nil {
		t.Fatal(err)
	}
	// SEC-2 first takes several parts, then shrinks to one: no stale part
	// of the older version may be appended.
	if err := s.SaveRaw(ctx, "jira", "issue", "SEC-2", noisy(40<<20)); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveRaw(ctx, "jira", "issue", "SEC-2", big); err != nil {
		t.Fatal(err)
	}
	got := map[string][]byte{}
	if err := s.EachRaw(ctx, "jira", "issue", func(k string, p []byte) error { got[k] = p; return nil }); err != nil {
		t.Fatal(err)
	}
	if string(got["SEC-1"]) != `{"v":2}` || !bytes.Equal(got["SEC-2"], big) || len(got) != 2 {
		t.Fatalf("raw payloads: SEC-1=%q, SEC-2 %d bytes, %d keys", got["SEC-1"], len(got["SEC-2"]), len(got))
	}
}

// TestSaveRawsInOneInsert saves a page of payloads in one call: each comes
// back whole (one of them in several parts), a key given twice keeps its
// last payload, and a later save of one key replaces it.
func TestSaveRawsInOneInsert(t *testing.T) {
	db := chtest.New(t)
	s := ingest.NewStore(db, nil)
	ctx := context.Background()
	large := noisy(20 << 20) // more than one 8 MiB part after gzip
	page := []ingest.RawPayload{
		{Key: "SEC-1", Payload: []byte(`{"v":1}`)},
		{Key: "SEC-2", Payload: large},
		{Key: "SEC-3", Payload: []byte(`{"v":3}`)},
		{Key: "SEC-1", Payload: []byte(`{"v":"1b"}`)},
	}
	if err := s.SaveRaws(ctx, "jira", "issue", page); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveRaws(ctx, "jira", "issue", []ingest.RawPayload{{Key: "SEC-3", Payload: []byte(`{"v":"3b"}`)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveRaws(ctx, "jira", "issue", nil); err != nil {
		t.Fatal(err)
	}
	got := map[string][]byte{}
	if err := s.EachRaw(ctx, "jira", "issue", func(k string, p []byte) error { got[k] = p; return nil }); err != nil {
		t.Fatal(err)
	}
	if string(got["SEC-1"]) != `{"v":"1b"}` || !bytes.Equal(got["SEC-2"], large) || string(got["SEC-3"]) != `{"v":"3b"}` || len(got) != 3 {
		t.Fatalf("raw payloads: SEC-1=%q, SEC-2 %d bytes, SEC-3=%q, %d keys", got["SEC-1"], len(got["SEC-2"]), got["SEC-3"], len(got))
	}
}

// noisy returns n bytes that gzip cannot shrink much.
func noisy(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}
