package jira_test

import (
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/secmetrics/secmetrics/ingest/jira"
)

var update = flag.Bool("update", false, "rewrite the expected errors of testdata/config")

func readConfig(t *testing.T, path string) jira.Config {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Jira jira.Config `yaml:"jira"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return doc.Jira
}

// TestValidate checks every testdata/config/*.yaml against the problems
// listed in the .errors file beside it (none for a file without one: the
// file must then be valid). A missing .errors file for an invalid config
// fails; -update rewrites them.
func TestValidate(t *testing.T) {
	files, err := filepath.Glob("testdata/config/*.yaml")
	if err != nil || len(files) < 3 {
		t.Fatalf("config files: %v, %v", files, err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			cfg := readConfig(t, file)
			var got []string
			for _, err := range cfg.Validate() {
				got = append(got, err.Error())
				if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), ":pw@") {
					t.Errorf("a password from the configuration is in %q", err)
				}
			}
			golden := strings.TrimSuffix(file, ".yaml") + ".errors"
			if *update && len(got) > 0 {
				if err := os.WriteFile(golden, []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			b, err := os.ReadFile(golden)
			var want []string
			switch {
			case errors.Is(err, fs.ErrNotExist):
				if len(got) > 0 {
					t.Fatalf("%s is missing (run with -update and review it); got:\n%s", golden, strings.Join(got, "\n"))
				}
			case err != nil:
				t.Fatal(err)
			default:
				want = strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	cfg := readConfig(t, "testdata/config/good.yaml")
	env := map[string]string{"JIRA_CLOUD_TOKEN": " cloud-token-value\n"}
	files := map[string]string{"/run/secrets/jira-dc-pat": "dc-pat-value\n"}
	readFile := func(name string) ([]byte, error) {
		if s, ok := files[name]; ok {
			return []byte(s), nil
		}
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	if err := cfg.Resolve(func(k string) string { return env[k] }, readFile); err != nil {
		t.Fatal(err)
	}
	if _, err := jira.New(cfg, nil, nil); err == nil || !strings.Contains(err.Error(), "no store") {
		t.Errorf("New without a store: %v", err)
	}

	// Both secrets missing: both reported, neither value nor a guess in
	// the message.
	cfg = readConfig(t, "testdata/config/good.yaml")
	err := cfg.Resolve(func(string) string { return "" }, readFile)
	files = nil
	err2 := cfg.Resolve(func(string) string { return "" }, readFile)
	for _, want := range []string{
		"jira.instances[0].token_env: environment variable JIRA_CLOUD_TOKEN is empty or not set",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Resolve: %v, want %q", err, want)
		}
	}
	if err2 == nil || !strings.Contains(err2.Error(), "jira.instances[1].token_file: open /run/secrets/jira-dc-pat: file does not exist") ||
		!strings.Contains(err2.Error(), "JIRA_CLOUD_TOKEN") {
		t.Errorf("Resolve: %v", err2)
	}
	if _, err := jira.New(cfg, nil, nil); err == nil || !strings.Contains(err.Error(), "token is not resolved") {
		t.Errorf("New with unresolved tokens: %v", err)
	}
}
