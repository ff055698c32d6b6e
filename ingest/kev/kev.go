// Package kev reads the CISA Known Exploited Vulnerabilities catalog, the
// JSON feed at
// https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json:
//
//	{"catalogVersion": "2025.08.25", "dateReleased": "2025-08-25T17:04:19.9796Z",
//	 "count": 1404, "vulnerabilities": [{"cveID": ..., "dateAdded": "2025-08-25", ...}]}
//
// Read streams the vulnerabilities one at a time and validates every one:
// a malformed, truncated or wrongly typed catalog is an *ingest.FormatError
// naming the place ("vulnerabilities[12].dueDate"), never a skipped entry.
package kev

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"

	"github.com/secmetrics/secmetrics/ingest"
)

// Format names the catalog in errors.
const Format = "kev"

// Entry is one known exploited vulnerability.
type Entry struct {
	CVE string // "CVE-2021-44228"
	// DateAdded is the day CISA added the CVE, DueDate the day federal
	// agencies must have remediated it; both midnight UTC.
	DateAdded, DueDate time.Time
	// Ransomware is true when CISA knows the CVE to be used in ransomware
	// campaigns (knownRansomwareCampaignUse "Known"); "Unknown", or the
	// field's absence in older catalogs, is false.
	Ransomware    bool
	VendorProject string
	Product       string
	Name          string // vulnerabilityName
}

// Catalog is what the catalog says about itself.
type Catalog struct {
	Version  string    // catalogVersion, e.g. "2025.08.25"
	Released time.Time // dateReleased, UTC; zero when absent
	// Count is the number of entries read (equal to the catalog's own count
	// when it states one).
	Count int
}

// cveID is the shape of a CVE id: the year, then at least four digits.
var cveID = regexp.MustCompile(`^CVE-\d{4}-\d{4,}$`)

const dateLayout = "2006-01-02"

type rawEntry struct {
	CVEID      string `json:"cveID"`
	Vendor     string `json:"vendorProject"`
	Product    string `json:"product"`
	Name       string `json:"vulnerabilityName"`
	DateAdded  string `json:"dateAdded"`
	DueDate    string `json:"dueDate"`
	Ransomware string `json:"knownRansomwareCampaignUse"`
}

// Read reads a catalog from r, calling emit once per vulnerability in
// catalog order, and returns the catalog's metadata once the whole catalog
// has been read. It requires a vulnerabilities array; every entry must have
// a CVE id of the form CVE-YYYY-NNNN..., and dateAdded and dueDate as
// YYYY-MM-DD; when the catalog states a count, it must equal the number of
// entries. An error from emit, or ctx's error (checked between entries), is
// returned as is.
func Read(ctx context.Context, r io.Reader, emit func(Entry) error) (Catalog, error) {
	dec := json.NewDecoder(r)
	if err := delim(dec, '{', ""); err != nil {
		return Catalog{}, err
	}
	var (
		cat   Catalog
		count = -1 // the stated count; -1 when absent
		n     int
		seen  = map[string]bool{}
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return Catalog{}, decodeError("", dec, err)
		}
		key, _ := tok.(string)
		if seen[key] {
			return Catalog{}, &ingest.FormatError{Format: Format, Path: key, Offset: dec.InputOffset(), Msg: "appears twice"}
		}
		seen[key] = true
		switch key {
		case "catalogVersion":
			if err := decode(dec, key, &cat.Version); err != nil {
				return Catalog{}, err
			}
		case "dateReleased":
			var s string
			if err := decode(dec, key, &s); err != nil {
				return Catalog{}, err
			}
			if cat.Released, err = parseReleased(s); err != nil {
				return Catalog{}, &ingest.FormatError{Format: Format, Path: key, Offset: dec.InputOffset(), Msg: err.Error()}
			}
		case "count":
			if err := decode(dec, key, &count); err != nil {
				return Catalog{}, err
			}
			if count < 0 {
				return Catalog{}, &ingest.FormatError{Format: Format, Path: key, Offset: dec.InputOffset(), Msg: fmt.Sprintf("%d is negative", count)}
			}
		case "vulnerabilities":
			if n, err = entries(ctx, dec, emit); err != nil {
				return Catalog{}, err
			}
		default:
			var skip json.RawMessage
			if err := decode(dec, key, &skip); err != nil {
				return Catalog{}, err
			}
		}
	}
	if err := delim(dec, '}', ""); err != nil {
		return Catalog{}, err
	}
	if tok, err := dec.Token(); err != io.EOF {
		if err != nil {
			return Catalog{}, decodeError("", dec, err)
		}
		return Catalog{}, &ingest.FormatError{Format: Format, Offset: dec.InputOffset(), Msg: fmt.Sprintf("unexpected %v after the catalog", tok)}
	}
	if !seen["vulnerabilities"] {
		return Catalog{}, &ingest.FormatError{Format: Format, Path: "vulnerabilities", Msg: "missing"}
	}
	if count >= 0 && count != n {
		return Catalog{}, &ingest.FormatError{Format: Format, Path: "count", Msg: fmt.Sprintf("the catalog says %d vulnerabilities but holds %d", count, n)}
	}
	cat.Count = n
	return cat, nil
}

// entries streams the vulnerabilities array and returns how many it held.
func entries(ctx context.Context, dec *json.Decoder, emit func(Entry) error) (int, error) {
	if err := delim(dec, '[', "vulnerabilities"); err != nil {
		return 0, err
	}
	n := 0
	for ; dec.More(); n++ {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		path := fmt.Sprintf("vulnerabilities[%d]", n)
		var raw rawEntry
		if err := decode(dec, path, &raw); err != nil {
			return n, err
		}
		e, err := entry(raw)
		if err != nil {
			var fe *ingest.FormatError
			if errors.As(err, &fe) {
				fe.Path = path + "." + fe.Path
				fe.Offset = dec.InputOffset()
			}
			return n, err
		}
		if err := emit(e); err != nil {
			return n, err
		}
	}
	return n, delim(dec, ']', "vulnerabilities")
}

// entry validates one vulnerability; errors carry the field as Path.
func entry(raw rawEntry) (Entry, error) {
	bad := func(field, msg string, args ...any) error {
		return &ingest.FormatError{Format: Format, Path: field, Msg: fmt.Sprintf(msg, args...)}
	}
	e := Entry{CVE: raw.CVEID, VendorProject: raw.Vendor, Product: raw.Product, Name: raw.Name}
	if !cveID.MatchString(raw.CVEID) {
		return e, bad("cveID", "%q is not a CVE id", raw.CVEID)
	}
	var err error
	if e.DateAdded, err = time.Parse(dateLayout, raw.DateAdded); err != nil {
		return e, bad("dateAdded", "%q is not a YYYY-MM-DD date", raw.DateAdded)
	}
	if e.DueDate, err = time.Parse(dateLayout, raw.DueDate); err != nil {
		return e, bad("dueDate", "%q is not a YYYY-MM-DD date", raw.DueDate)
	}
	switch raw.Ransomware {
	case "Known":
		e.Ransomware = true
	case "Unknown", "":
	default:
		return e, bad("knownRansomwareCampaignUse", "%q is neither Known nor Unknown", raw.Ransomware)
	}
	return e, nil
}

// parseReleased reads dateReleased: an RFC 3339 time (CISA writes
// fractional seconds) or a bare date.
func parseReleased(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(dateLayout, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time", s)
}

// decode decodes the next value into v.
func decode(dec *json.Decoder, path string, v any) error {
	if err := dec.Decode(v); err != nil {
		return decodeError(path, dec, err)
	}
	return nil
}

// delim reads the next token, which must be d.
func delim(dec *json.Decoder, d json.Delim, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return decodeError(path, dec, err)
	}
	if tok != d {
		return &ingest.FormatError{Format: Format, Path: path, Offset: dec.InputOffset(), Msg: fmt.Sprintf("want %q, found %v", string(d), tok)}
	}
	return nil
}

// decodeError turns a json.Decoder error into an *ingest.FormatError; an
// error of the underlying reader is returned wrapped.
func decodeError(path string, dec *json.Decoder, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return &ingest.FormatError{Format: Format, Path: path, Offset: syn.Offset, Msg: syn.Error()}
	case errors.As(err, &typ):
		if typ.Field != "" {
			path += "." + typ.Field
		}
		return &ingest.FormatError{Format: Format, Path: path, Offset: typ.Offset, Msg: fmt.Sprintf("JSON %s cannot be a %s", typ.Value, typ.Type)}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &ingest.FormatError{Format: Format, Path: path, Offset: dec.InputOffset(), Msg: "truncated input"}
	}
	return fmt.Errorf("read kev catalog: %w", err)
}
