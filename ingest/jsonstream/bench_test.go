package jsonstream

import (
	"bytes"
	"fmt"
	"testing"
)

// BenchmarkSkip skips an array of 20,000 package objects shaped like
// Trivy's Results[].Packages, which parsers do not read.
func BenchmarkSkip(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString(`{"Packages": [`)
	for i := range 20_000 {
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `{"ID": "pkg%d@1.2.3", "Name": "pkg%d", "Version": "1.2.3-%d", "Arch": "amd64", "SrcName": "src%d",
 "Licenses": ["GPL-2.0", "MIT"], "Layer": {"Digest": "sha256:9d48c3bd43c520dc2784e868a780e976b207cbf493eaff8c6596eb871cbd9609",
 "DiffID": "sha256:03901b4a2ea88eeaad62dbe59b072b28b6efa00491962b8741081c5df50c65e0"},
 "Identifier": {"PURL": "pkg:deb/debian/pkg%d@1.2.3?arch=amd64", "UID": "%016x"}, "InstalledFiles": ["/usr/lib/a", "/usr/lib/b"]}`, i, i, i, i, i, i)
	}
	buf.WriteString(`]}`)
	doc := buf.Bytes()
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if err := skip(b.Context(), New(bytes.NewReader(doc), opts(IsWant, 1<<20, 16<<20))); err != nil {
			b.Fatal(err)
		}
	}
}
