package ingest

import (
	"net/url"
	"strings"
)

// ImageAsset names the asset of a container image reference: the repository
// without tag or digest, so that a rebuilt image (new digest, new tag) is the
// same asset. "ghcr.io/org/app:1.2@sha256:ab..." gives "ghcr.io/org/app";
// Docker Hub short names are kept as written ("alpine:3.10" gives "alpine").
func ImageAsset(ref string) string {
	ref = strings.TrimSpace(ref)
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref = ref[:i]
	}
	// A tag is a colon after the last slash (a colon before it is a port).
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		ref = ref[:i]
	}
	return ref
}

// RepoAsset names the asset of a source repository URI: host and path, no
// scheme, user info, ".git" suffix or trailing slash, so that
// "https://github.com/Org/Repo.git", "git@github.com:Org/Repo" and
// "github.com/Org/Repo" are one asset ("github.com/Org/Repo"). A value that
// is not a URI is returned trimmed.
func RepoAsset(uri string) string {
	s := strings.TrimSpace(uri)
	if rest, ok := strings.CutPrefix(s, "git@"); ok {
		s = strings.Replace(rest, ":", "/", 1)
	} else if u, err := url.Parse(s); err == nil && u.Host != "" {
		s = u.Host + u.Path
	}
	s = strings.TrimSuffix(strings.TrimSuffix(s, "/"), ".git")
	return s
}

// CompositeKey joins the parts of a finding key built from several fields
// (rule, package, path, ...) with "|", escaping "%" and "|" inside parts
// ("%25", "%7C") so that different part lists never give the same key.
func CompositeKey(parts ...string) string {
	var b strings.Builder
	for i, s := range parts {
		if i > 0 {
			b.WriteByte('|')
		}
		if strings.ContainsAny(s, "%|") {
			s = keyEscaper.Replace(s)
		}
		b.WriteString(s)
	}
	return b.String()
}

var keyEscaper = strings.NewReplacer("%", "%25", "|", "%7C")
