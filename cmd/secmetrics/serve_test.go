package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/secmetrics/secmetrics/queries/chtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

// childPIDs returns the pids of processes whose command line mentions dir.
func childPIDs(t *testing.T, dir string) []int {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmdline, []byte(dir)) {
			out = append(out, pid)
		}
	}
	return out
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func status(url string) int {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func waitStatus(t *testing.T, url string, want int, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < limit {
		if status(url) == want {
			return time.Since(start)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s did not answer %d within %s", url, want, limit)
	return 0
}

// TestServeEmbeddedLifecycle runs "secmetrics serve" on the embedded
// ClickHouse: ready, the child killed (503, then restarted and ready
// again), and a clean stop that leaves no process behind.
func TestServeEmbeddedLifecycle(t *testing.T) {
	if _, err := exec.LookPath("clickhouse-server"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("clickhouse-server not installed")
		}
		t.Skip("clickhouse-server not installed: sudo apt-get install -y clickhouse-server")
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	cfgPath := filepath.Join(dir, "secmetrics.yaml")
	cfg := fmt.Sprintf("embedded:\n  data_dir: %s/ch\nserver:\n  listen: %s\nlog:\n  level: warn\n", dir, addr)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-config", cfgPath, "serve"}, io.Discard, &stderr, func(string) string { return "" })
	}()
	url := "http://" + addr + "/readyz"
	waitStatus(t, url, 200, time.Minute)
	if got := status("http://" + addr + "/healthz"); got != 200 {
		t.Fatalf("healthz = %d", got)
	}

	// Another command while serve runs uses the same embedded server
	// instead of starting a second one on the same data.
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-config", cfgPath, "migrate"}, &out, &out, func(string) string { return "" }); err != nil {
		t.Fatalf("migrate while serving: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "schema up to date") {
		t.Fatalf("migrate while serving printed %q", out.String())
	}
	pids := childPIDs(t, dir+"/ch")
	if len(pids) != 1 {
		t.Fatalf("want one clickhouse child, have %v", pids)
	}
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, url, 503, 5*time.Second)
	waitStatus(t, url, 200, 30*time.Second)

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	// The child is gone (allow a moment for the kernel to reap it).
	deadline := time.Now().Add(5 * time.Second)
	for len(childPIDs(t, dir+"/ch")) > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if left := childPIDs(t, dir+"/ch"); len(left) > 0 {
		t.Fatalf("processes left behind: %v", left)
	}
	if !strings.Contains(stderr.String(), "embedded clickhouse exited; restarting") {
		t.Fatalf("the restart was not logged:\n%s", stderr.String())
	}
}
