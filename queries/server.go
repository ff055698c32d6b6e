package queries

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ServerConfig configures the embedded local ClickHouse server.
type ServerConfig struct {
	// Binary is the server executable. Empty means clickhouse-server from
	// PATH, then the single clickhouse binary (run as "clickhouse server").
	Binary string `yaml:"binary"`
	// DataDir holds the server's data, logs and generated config.
	DataDir string `yaml:"data_dir"`
	// Port is the native TCP port on 127.0.0.1; 0 picks a free one.
	Port int `yaml:"port"`
	// MaxMemory caps server memory per query in bytes (0: 4 GiB).
	MaxMemory int64 `yaml:"max_memory"`
}

// ErrNoServer is returned when no ClickHouse server binary can be found.
var ErrNoServer = errors.New(`no ClickHouse server found on PATH: install it with "sudo apt-get install -y clickhouse-server" (Debian/Ubuntu), put the official "clickhouse" binary on PATH, set embedded.binary, or configure clickhouse.addr to use an existing server`)

// Server is a clickhouse-server child process listening on a loopback port,
// restarted with back-off when it dies and stopped by Stop.
type Server struct {
	cfg  ServerConfig
	argv []string
	port int
	log  *slog.Logger

	mu       sync.Mutex
	cmd      *exec.Cmd
	stopping bool
	done     chan struct{} // closed when the supervisor exits
	restarts int
}

// FindServer returns the command line prefix that runs a ClickHouse server:
// the configured binary, clickhouse-server from PATH, or "clickhouse server".
func FindServer(binary string) ([]string, error) {
	if binary != "" {
		p, err := exec.LookPath(binary)
		if err != nil {
			return nil, fmt.Errorf("embedded.binary %q: %w", binary, err)
		}
		if filepath.Base(p) == "clickhouse" {
			return []string{p, "server"}, nil
		}
		return []string{p}, nil
	}
	if p, err := exec.LookPath("clickhouse-server"); err == nil {
		return []string{p}, nil
	}
	if p, err := exec.LookPath("clickhouse"); err == nil {
		return []string{p, "server"}, nil
	}
	return nil, ErrNoServer
}

// StartServer writes a config into cfg.DataDir, starts the server, waits
// until it answers (up to a minute) and supervises it until Stop. The child
// is in its own process group (a terminal's Ctrl-C reaches only the
// service, which then stops it) and gets SIGTERM if the service dies.
func StartServer(ctx context.Context, cfg ServerConfig, log *slog.Logger) (*Server, error) {
	argv, err := FindServer(cfg.Binary)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	cfg.DataDir = dir
	for _, d := range []string{"data", "tmp", "user_files", "format_schemas", "log", "etc"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o750); err != nil {
			return nil, fmt.Errorf("embedded clickhouse: %w", err)
		}
	}
	port := cfg.Port
	if port == 0 {
		if port, err = freePort(); err != nil {
			return nil, fmt.Errorf("embedded clickhouse: find a free port: %w", err)
		}
	}
	if err := writeServerConfig(cfg, port); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, argv: argv, port: port, log: log, done: make(chan struct{})}
	if err := s.start(); err != nil {
		return nil, err
	}
	if err := s.waitReady(ctx, time.Minute); err != nil {
		s.kill()
		return nil, err
	}
	go s.supervise()
	if err := os.WriteFile(filepath.Join(dir, addrFile), []byte(s.Addr()), 0o640); err != nil {
		s.kill()
		return nil, fmt.Errorf("embedded clickhouse: %w", err)
	}
	log.Info("embedded clickhouse started", "addr", s.Addr(), "data_dir", dir)
	return s, nil
}

// addrFile, in the data folder, holds the address of the embedded server
// while it runs, so that other secmetrics commands use it instead of
// starting a second server on the same data (which its lock forbids).
const addrFile = "server.addr"

// Running returns the address of an embedded server already serving
// dataDir (started by another secmetrics process), if one answers.
func Running(dataDir string) (string, bool) {
	b, err := os.ReadFile(filepath.Join(dataDir, addrFile))
	if err != nil {
		return "", false
	}
	addr := strings.TrimSpace(string(b))
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host != "127.0.0.1" {
		return "", false
	}
	c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		return "", false
	}
	c.Close()
	return addr, true
}

// Addr returns host:port of the server's native protocol.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// PID returns the process id of the running server, 0 when none.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Restarts returns how many times the supervisor restarted the server.
func (s *Server) Restarts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.restarts
}

func (s *Server) start() error {
	args := append(append([]string{}, s.argv[1:]...), "--config-file="+filepath.Join(s.cfg.DataDir, "etc", "config.xml"))
	cmd := exec.Command(s.argv[0], args...) //nolint:gosec // the binary is the operator's choice
	cmd.Dir = s.cfg.DataDir
	out, err := os.OpenFile(filepath.Join(s.cfg.DataDir, "log", "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("embedded clickhouse: %w", err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("embedded clickhouse: start %s: %w", s.argv[0], err)
	}
	out.Close()
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
	return nil
}

// supervise waits for the child and restarts it with exponential back-off
// (1 s doubling to 30 s, reset after a minute of uptime) until Stop.
func (s *Server) supervise() {
	defer close(s.done)
	backoff := time.Second
	for {
		s.mu.Lock()
		cmd := s.cmd
		s.mu.Unlock()
		started := time.Now()
		err := cmd.Wait()
		s.mu.Lock()
		stopping := s.stopping
		s.mu.Unlock()
		if stopping {
			return
		}
		if time.Since(started) > time.Minute {
			backoff = time.Second
		}
		s.log.Error("embedded clickhouse exited; restarting", "err", err, "backoff", backoff.String(),
			"log", filepath.Join(s.cfg.DataDir, "log", "err.log"))
		time.Sleep(backoff)
		backoff = min(backoff*2, 30*time.Second)
		s.mu.Lock()
		if s.stopping {
			s.mu.Unlock()
			return
		}
		s.restarts++
		s.mu.Unlock()
		if err := s.start(); err != nil {
			s.log.Error("embedded clickhouse restart failed", "err", err)
			// Keep a dead command to wait on so the loop backs off again.
			s.mu.Lock()
			s.cmd = exec.Command("false")
			_ = s.cmd.Start()
			s.mu.Unlock()
		}
	}
}

func (s *Server) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		c, err := net.DialTimeout("tcp", s.Addr(), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		s.mu.Lock()
		exited := s.cmd.ProcessState != nil
		s.mu.Unlock()
		if exited || time.Now().After(deadline) {
			return fmt.Errorf("embedded clickhouse did not start listening on %s; see %s", s.Addr(),
				filepath.Join(s.cfg.DataDir, "log", "err.log"))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop terminates the server (SIGTERM, then SIGKILL after 15 s) and waits
// for the supervisor to exit.
func (s *Server) Stop() error {
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		<-s.done
		return nil
	}
	s.stopping = true
	cmd := s.cmd
	s.mu.Unlock()
	_ = os.Remove(filepath.Join(s.cfg.DataDir, addrFile))
	if cmd != nil && cmd.Process != nil {
		_ = cmd.Process.Signal(syscall.SIGTERM)
	}
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		s.kill()
		<-s.done
	}
	s.log.Info("embedded clickhouse stopped")
	return nil
}

func (s *Server) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func writeServerConfig(cfg ServerConfig, port int) error {
	mem := cfg.MaxMemory
	if mem <= 0 {
		mem = 4 << 30
	}
	d := cfg.DataDir
	conf := fmt.Sprintf(`<?xml version="1.0"?>
<!-- Generated by secmetrics for its embedded server; rewritten at every start. -->
<yandex>
  <logger>
    <level>warning</level>
    <log>%[1]s/log/server.log</log>
    <errorlog>%[1]s/log/err.log</errorlog>
    <size>50M</size>
    <count>3</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>%[2]d</tcp_port>
  <path>%[1]s/data/</path>
  <tmp_path>%[1]s/tmp/</tmp_path>
  <user_files_path>%[1]s/user_files/</user_files_path>
  <format_schema_path>%[1]s/format_schemas/</format_schema_path>
  <mark_cache_size>268435456</mark_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
  <users_config>%[1]s/etc/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
</yandex>
`, d, port)
	users := fmt.Sprintf(`<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>%d</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
`, mem)
	if err := os.WriteFile(filepath.Join(d, "etc", "config.xml"), []byte(conf), 0o640); err != nil {
		return fmt.Errorf("embedded clickhouse: %w", err)
	}
	if err := os.WriteFile(filepath.Join(d, "etc", "users.xml"), []byte(users), 0o640); err != nil {
		return fmt.Errorf("embedded clickhouse: %w", err)
	}
	return nil
}
