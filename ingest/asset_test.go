package ingest

import "testing"

func TestImageAsset(t *testing.T) {
	for in, want := range map[string]string{
		"ghcr.io/org/app:1.2@sha256:abcd":                     "ghcr.io/org/app",
		"ghcr.io/org/app@sha256:abcd":                         "ghcr.io/org/app",
		"alpine:3.10":                                         "alpine",
		"registry.local:5000/team/api":                        "registry.local:5000/team/api",
		"registry.local:5000/team/api:v7":                     "registry.local:5000/team/api",
		" ghcr.io/aquasecurity/trivy-test-images:alpine-310 ": "ghcr.io/aquasecurity/trivy-test-images",
	} {
		if got := ImageAsset(in); got != want {
			t.Errorf("ImageAsset(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRepoAsset(t *testing.T) {
	for in, want := range map[string]string{
		"https://github.com/Org/Repo.git": "github.com/Org/Repo",
		"git@github.com:Org/Repo.git":     "github.com/Org/Repo",
		"github.com/Org/Repo/":            "github.com/Org/Repo",
		"https://user:tok@gitlab.com/g/p": "gitlab.com/g/p",
		"payments-api":                    "payments-api",
	} {
		if got := RepoAsset(in); got != want {
			t.Errorf("RepoAsset(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseSeverity(t *testing.T) {
	for in, want := range map[string]Severity{
		"CRITICAL": Critical, "error": High, "moderate": Medium, "WARNING": Medium,
		"note": Low, "informational": Info, "weird": Unknown, "": Unknown,
	} {
		if got := ParseSeverity(in); got != want {
			t.Errorf("ParseSeverity(%q) = %q, want %q", in, got, want)
		}
	}
	for score, want := range map[float64]Severity{9.8: Critical, 9.0: Critical, 8.9: High, 7.0: High, 4.0: Medium, 3.9: Low, 0: Info, 11: Unknown} {
		if got := SeverityFromScore(score); got != want {
			t.Errorf("SeverityFromScore(%v) = %q, want %q", score, got, want)
		}
	}
}

func TestDispositionsMap(t *testing.T) {
	d := Dispositions{"github:false_positive": FalsePositive, "sarif:*": RiskAccepted}
	for key, want := range map[string]Status{
		"": StatusNone, "github:false_positive": FalsePositive,
		"sarif:external": RiskAccepted, "unknown:thing": RiskAccepted,
	} {
		if got := d.Map(key); got != want {
			t.Errorf("Map(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestCompositeKey(t *testing.T) {
	for _, tc := range []struct {
		parts []string
		want  string
	}{
		{[]string{"CVE-1", "openssl", ""}, "CVE-1|openssl|"},
		{[]string{"a|b", "c"}, "a%7Cb|c"},
		{[]string{"a", "b|c"}, "a|b%7Cc"},
		{[]string{"100%", "x"}, "100%25|x"},
	} {
		if got := CompositeKey(tc.parts...); got != tc.want {
			t.Errorf("CompositeKey(%q) = %q, want %q", tc.parts, got, tc.want)
		}
	}
}
