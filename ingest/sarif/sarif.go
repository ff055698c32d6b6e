package sarif

import (
	"context"
	"encoding/json"
	"hash/maphash"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/secmetrics/secmetrics/ingest"
	"github.com/secmetrics/secmetrics/ingest/jsonstream"
)

// formatName is the Scan.Format and FormatError.Format of this parser.
const formatName = "sarif"

// Default limits of a Parser whose fields are zero.
const (
	DefaultMaxString = 1 << 20  // bytes of one JSON string
	DefaultMaxRecord = 32 << 20 // bytes of one result, rule or invocation
)

// Parser reads SARIF 2.1.0 logs. The zero Parser uses the default limits.
type Parser struct {
	// MaxString is the largest JSON string accepted anywhere in the log,
	// in encoded bytes; a longer one is a FormatError.
	MaxString int
	// MaxRecord is the largest single result, rule, invocation or other
	// record that is decoded whole, in bytes; a larger one is a
	// FormatError. Large values the parser does not need (artifacts,
	// taxonomies, graphs) are skipped one array element at a time and only
	// those elements are limited by it, not the whole value.
	MaxRecord int
}

var _ ingest.Parser = Parser{}

// Stats counts what one Parse read.
type Stats struct {
	Results int // result objects read
	Emitted int // findings passed to emit
	Absent  int // results with baselineState "absent": read, not emitted
	Passed  int // results of kind "pass" or "notApplicable": read, not emitted
	// MaxPending is the most results held back at once because they came
	// before their run's tool (see the package documentation).
	MaxPending int
}

// Parse implements ingest.Parser; see the package documentation for how
// findings are built. It is ParseStats without the counts.
func (p Parser) Parse(ctx context.Context, r io.Reader, emit func(ingest.Finding) error) (ingest.Scan, error) {
	scan, _, err := p.ParseStats(ctx, r, emit)
	return scan, err
}

// ParseStats reads a SARIF log from r, calls emit for every current
// finding in report order and returns the scan's metadata and what was
// read. Malformed, truncated or wrongly typed input is an
// *ingest.FormatError naming the place; an error from emit, or ctx's error
// when it is done, is returned as is.
func (p Parser) ParseStats(ctx context.Context, r io.Reader, emit func(ingest.Finding) error) (ingest.Scan, Stats, error) {
	maxString, maxRecord := int64(p.MaxString), int64(p.MaxRecord)
	if maxString <= 0 {
		maxString = DefaultMaxString
	}
	if maxRecord <= 0 {
		maxRecord = DefaultMaxRecord
	}
	ps := &parse{
		ctx:   ctx,
		s:     jsonstream.New(r, jsonstream.Options{Format: formatName, MaxString: maxString, MaxValue: maxRecord}),
		emit:  emit,
		scan:  ingest.Scan{Format: formatName},
		kinds: map[ingest.Kind]bool{},
		keys:  map[uint64]uint32{},
		seed:  maphash.MakeSeed(),
	}
	if err := ps.log(); err != nil {
		return ingest.Scan{}, ps.stats, err
	}
	if !ps.incomplete {
		for _, k := range ingest.Kinds {
			if ps.kinds[k] {
				ps.scan.Kinds = append(ps.scan.Kinds, k)
			}
		}
	}
	return ps.scan, ps.stats, nil
}

// parse is the state of one ParseStats call.
type parse struct {
	ctx   context.Context
	s     *jsonstream.Decoder
	emit  func(ingest.Finding) error
	stats Stats
	scan  ingest.Scan
	kinds map[ingest.Kind]bool // kinds of complete runs
	// incomplete is set when a run says its tool failed or produced no
	// results list: then the scan claims no kinds.
	incomplete bool
	keys       map[uint64]uint32 // occurrences of each key so far
	seed       maphash.Seed
	intern     map[string]string
}

// run is the state of one run while it is read.
type run struct {
	index   int
	tool    bool // tool has been read
	scanner string
	comps   [][]*rule // rules of tool.driver (0) and tool.extensions[i] (i+1)
	byID    map[string]*rule
	image   string               // properties.imageName (Trivy)
	props   bool                 // properties has been read
	failed  bool                 // an invocation has executionSuccessful false
	null    bool                 // results is null: the tool did not produce a results list
	pending queue                // results read before the run was ready
	kinds   map[ingest.Kind]bool // kinds of the findings emitted
	time    time.Time
}

// ready reports whether results can be turned into findings as they are
// read: the tool (rules, scanner) is known, and for Trivy whether the run is
// an image scan is known too.
func (r *run) ready() bool {
	return r.tool && (r.scanner != "trivy" || r.props)
}

// log reads the top-level sarifLog object.
func (ps *parse) log() error {
	s := ps.s
	t, err := s.Token()
	if err != nil {
		return err
	}
	if t != json.Delim('{') {
		return s.Errorf("", "want a SARIF log object at the top level, got %s", jsonstream.Describe(t))
	}
	var sawVersion, sawRuns bool
	err = s.Members(ps.ctx, func(key string) error {
		switch key {
		case "version":
			sawVersion = true
			version, err := s.StringValue()
			if err != nil {
				return err
			}
			if version != "2.1.0" {
				return s.Errorf("", "unsupported SARIF version %q (want 2.1.0)", version)
			}
			return nil
		case "runs":
			sawRuns = true
			n := 0
			err := s.Array(ps.ctx, func(i int) error {
				n++
				return ps.run(i)
			})
			if err == nil && n == 0 {
				err = s.Errorf("", "no runs: the log names no tool")
			}
			return err
		}
		return s.Skip()
	})
	if err == nil {
		err = s.End()
	}
	if err != nil {
		return err
	}
	if !sawVersion {
		return s.ErrorAt(0, "version", "missing")
	}
	if !sawRuns {
		return s.ErrorAt(0, "runs", "missing")
	}
	return nil
}

// run reads one run. Its results are emitted as they are read when the
// tool came first, else held back until the tool has been read.
func (ps *parse) run(i int) error {
	s := ps.s
	r := &run{index: i, byID: map[string]*rule{}, kinds: map[ingest.Kind]bool{}}
	err := s.Object(ps.ctx, func(key string) error {
		switch key {
		case "tool":
			if err := ps.tool(r); err != nil {
				return err
			}
			return ps.flush(r)
		case "results":
			return ps.results(r)
		case "invocations":
			return ps.invocations(r)
		case "versionControlProvenance":
			return ps.provenance()
		case "properties":
			var rp runPropsJSON
			if _, err := s.Record(&rp); err != nil {
				return err
			}
			r.props = true
			if img, ok := scalarText(rp.ImageName); ok && !isNumber(img) {
				r.image = img
			}
			return ps.flush(r)
		}
		return s.Skip()
	})
	if err != nil {
		return err
	}
	if !r.tool {
		return s.Errorf("tool", "missing")
	}
	r.props = true // no properties follow: decide the Trivy kinds without an image
	if err := ps.flush(r); err != nil {
		return err
	}
	if i == 0 {
		ps.scan.Time = r.time
		if r.image != "" {
			ps.scan.Asset = ingest.ImageAsset(r.image)
		}
	}
	if r.failed || r.null {
		ps.incomplete = true
		return nil
	}
	for _, k := range impliedKinds(r.scanner) {
		ps.kinds[k] = true
	}
	for k := range r.kinds {
		ps.kinds[k] = true
	}
	return nil
}

// tool reads run.tool: the driver's name and version and the rules of the
// driver and of every extension.
func (ps *parse) tool(r *run) error {
	s := ps.s
	var name, version string
	sawDriver := false
	err := s.Object(ps.ctx, func(key string) error {
		switch key {
		case "driver":
			sawDriver = true
			var err error
			name, version, err = ps.component(r, 0)
			return err
		case "extensions":
			return s.Array(ps.ctx, func(j int) error {
				_, _, err := ps.component(r, j+1)
				return err
			})
		}
		return s.Skip()
	})
	if err != nil {
		return err
	}
	if !sawDriver {
		return s.Errorf("driver", "missing")
	}
	if strings.TrimSpace(name) == "" {
		return s.Errorf("driver.name", "missing")
	}
	r.tool = true
	r.scanner = scannerName(name)
	switch {
	case r.index == 0:
		ps.scan.Scanner = r.scanner
		ps.scan.ScannerVersion = version
	case r.scanner != ps.scan.Scanner:
		return s.Errorf("driver.name",
			"run's tool %q is not runs[0]'s %q: a log of several tools cannot be attributed to one scanner; split it per tool", r.scanner, ps.scan.Scanner)
	}
	return nil
}

// component reads a toolComponent (the driver or an extension) and keeps
// its rules in r. It returns the component's name and version
// (semanticVersion when present).
func (ps *parse) component(r *run, ci int) (name, version string, err error) {
	s := ps.s
	for len(r.comps) <= ci {
		r.comps = append(r.comps, nil)
	}
	var semantic string
	err = s.Object(ps.ctx, func(key string) error {
		var err error
		switch key {
		case "name":
			name, err = s.StringValue()
		case "version":
			version, err = s.StringValue()
		case "semanticVersion":
			semantic, err = s.StringValue()
		case "rules":
			err = s.Array(ps.ctx, func(int) error {
				var rj ruleJSON
				start, err := s.Record(&rj)
				if err != nil {
					return err
				}
				if rj.ID == "" {
					return s.ErrorAt(start, "id", "missing")
				}
				rl := compactRule(&rj)
				r.comps[ci] = append(r.comps[ci], rl)
				if _, dup := r.byID[rl.id]; !dup {
					r.byID[rl.id] = rl
				}
				return nil
			})
		default:
			err = s.Skip()
		}
		return err
	})
	if semantic != "" {
		version = semantic
	}
	return name, version, err
}

// invocations reads run.invocations: whether the tool ran successfully and
// when (the first invocation's start, else end, time).
func (ps *parse) invocations(r *run) error {
	s := ps.s
	return s.Array(ps.ctx, func(j int) error {
		var inv invocationJSON
		start, err := s.Record(&inv)
		if err != nil {
			return err
		}
		if inv.ExecutionSuccessful != nil && !*inv.ExecutionSuccessful {
			r.failed = true
		}
		if j > 0 {
			return nil
		}
		for _, f := range []struct{ name, value string }{{"startTimeUtc", inv.StartTimeUTC}, {"endTimeUtc", inv.EndTimeUTC}} {
			if f.value == "" {
				continue
			}
			t, err := time.Parse(time.RFC3339Nano, f.value)
			if err != nil {
				return s.ErrorAt(start, f.name, "not an RFC 3339 date-time: %q", shortTitle(f.value))
			}
			r.time = t.UTC()
			break
		}
		return nil
	})
}

// provenance reads run.versionControlProvenance; the first entry of the
// first run that has one names the scan's repository, branch and commit.
func (ps *parse) provenance() error {
	s := ps.s
	return s.Array(ps.ctx, func(j int) error {
		var vp provenanceJSON
		if _, err := s.Record(&vp); err != nil {
			return err
		}
		if j == 0 && ps.scan.Commit == "" && ps.scan.Branch == "" && vp.RepositoryURI != "" {
			if ps.scan.Asset == "" {
				ps.scan.Asset = ingest.RepoAsset(vp.RepositoryURI)
			}
			ps.scan.Branch = vp.Branch
			ps.scan.Commit = vp.RevisionID
		}
		return nil
	})
}

// results reads run.results one result at a time.
func (ps *parse) results(r *run) error {
	s := ps.s
	ok, err := s.Open('[')
	if err != nil {
		return err
	}
	if !ok {
		r.null = true
		return nil
	}
	return s.Elements(ps.ctx, func(j int) error {
		var rj resultJSON
		start, err := s.Record(&rj)
		if err != nil {
			return err
		}
		ps.stats.Results++
		pd, keep, err := ps.pending(r, j, &rj, start)
		if err != nil || !keep {
			return err
		}
		if r.ready() {
			return ps.finish(r, &pd)
		}
		ps.internPending(&pd)
		r.pending.add(pd)
		ps.stats.MaxPending = max(ps.stats.MaxPending, r.pending.n)
		return nil
	})
}

// flush turns the results held back in r into findings once r is ready.
func (ps *parse) flush(r *run) error {
	if !r.ready() || r.pending.n == 0 {
		return nil
	}
	for ci, chunk := range r.pending.chunks {
		for i := range chunk {
			if err := ps.ctx.Err(); err != nil {
				return err
			}
			if err := ps.finish(r, &chunk[i]); err != nil {
				return err
			}
		}
		r.pending.chunks[ci] = nil // let the chunk go
	}
	r.pending = queue{}
	return nil
}

// finish resolves one result against its run and emits it.
func (ps *parse) finish(r *run, pd *pending) error {
	f, err := ps.resolve(r, pd)
	if err != nil {
		return err
	}
	r.kinds[f.Kind] = true
	ps.stats.Emitted++
	return ps.emit(f)
}

// queue holds pending results in fixed-size chunks, so that growing it
// never copies what it holds.
type queue struct {
	chunks [][]pending
	n      int
}

func (q *queue) add(pd pending) {
	if len(q.chunks) == 0 || len(q.chunks[len(q.chunks)-1]) == cap(q.chunks[len(q.chunks)-1]) {
		q.chunks = append(q.chunks, make([]pending, 0, 4096))
	}
	last := &q.chunks[len(q.chunks)-1]
	*last = append(*last, pd)
	q.n++
}

// internPending shares the strings that repeat across held-back results
// (rule ids, files, titles), so that holding many costs little more than
// their keys.
func (ps *parse) internPending(pd *pending) {
	if ps.intern == nil {
		ps.intern = map[string]string{}
	}
	for _, p := range []*string{&pd.ruleID, &pd.file, &pd.title, &pd.level} {
		if *p == "" {
			continue
		}
		if v, ok := ps.intern[*p]; ok {
			*p = v
		} else if len(ps.intern) < 1<<16 {
			ps.intern[*p] = *p
		}
	}
}

// isNumber reports whether s is a JSON number's text.
func isNumber(s string) bool {
	return s != "" && (s[0] == '-' || (s[0] >= '0' && s[0] <= '9'))
}

// impliedKinds returns the kinds a run of scanner is complete for even when
// it has no results.
func impliedKinds(scanner string) []ingest.Kind {
	switch toolKind(scanner) {
	case ingest.Secret:
		return []ingest.Kind{ingest.Secret}
	case ingest.IaC:
		return []ingest.Kind{ingest.IaC}
	case ingest.SCA:
		if packageScanner(scanner) {
			// Trivy and Grype classify each package finding as container or
			// sca by the artifact; a run is complete for both.
			return []ingest.Kind{ingest.Container, ingest.SCA}
		}
		return []ingest.Kind{ingest.SCA}
	case ingest.Container:
		return []ingest.Kind{ingest.Container}
	}
	return []ingest.Kind{ingest.SAST}
}

// sortedKeys returns m's keys in order, for deterministic choices.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
