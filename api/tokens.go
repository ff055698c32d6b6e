package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/secmetrics/secmetrics/queries"
)

// Token is an API token as stored: never its secret, only the secret's
// SHA-256.
type Token struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Scopes []Scope  `json:"scopes"`
	Teams  []string `json:"teams"` // empty: every team
	// Created, Expires (nil: never) and Revoked (nil: not revoked).
	Created time.Time  `json:"created_at"`
	Expires *time.Time `json:"expires_at"`
	Revoked *time.Time `json:"revoked_at"`

	hash []byte
}

// AllTeams is the teams value that gives a token every team.
const AllTeams = "*"

// ErrTokenNotFound is returned by RevokeToken for an unknown token id.
var ErrTokenNotFound = errors.New("no such token")

// Active reports whether t can authenticate at now.
func (t Token) Active(now time.Time) bool {
	return t.Revoked == nil && (t.Expires == nil || now.Before(*t.Expires))
}

func (t Token) principal() principal {
	return principal{TokenID: t.ID, Name: t.Name, Scopes: slices.Clone(t.Scopes), AllTeams: len(t.Teams) == 0, Teams: slices.Clone(t.Teams)}
}

// secretPrefix starts every token secret, so that secret scanners and the
// audit-log redaction recognize one.
const secretPrefix = "smt_"

// secretPattern is the exact shape of a secret: the prefix and 256 random
// bits in unpadded base64url (43 characters).
var secretPattern = regexp.MustCompile(`^smt_[A-Za-z0-9_-]{43}$`)

var (
	tokenName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._@:/-]{0,99}$`)
	teamName  = regexp.MustCompile(`^[^\x00-\x1f,*]{1,200}$`)
)

// CreateToken creates a token and returns its secret, the only time the
// secret exists outside the caller's hands: only its SHA-256 is stored.
// teams lists the teams the token may see; the single entry "*"
// (AllTeams) gives every team, and an empty list is refused so that a
// forgotten flag never means "everything". A zero expires means the token
// never expires.
func CreateToken(ctx context.Context, db *queries.DB, name string, scopes []Scope, teams []string, expires time.Time) (string, Token, error) {
	now := time.Now().UTC().Truncate(time.Second)
	var probs []string
	if !tokenName.MatchString(name) {
		probs = append(probs, fmt.Sprintf("name %q: want 1–100 letters, digits, spaces or ._@:/-, starting with a letter or digit", name))
	}
	if len(scopes) == 0 {
		probs = append(probs, "at least one scope is required")
	}
	for _, sc := range scopes {
		if !slices.Contains(Scopes, sc) {
			probs = append(probs, fmt.Sprintf("unknown scope %q (want %s)", sc, scopeList()))
		}
	}
	switch {
	case len(teams) == 0:
		probs = append(probs, `teams: list the teams the token may see, or "*" for every team`)
	case slices.Contains(teams, AllTeams):
		if len(teams) != 1 {
			probs = append(probs, `teams: "*" (every team) cannot be combined with team names`)
		}
		teams = nil
	default:
		if len(teams) > 100 {
			probs = append(probs, "teams: at most 100")
		}
		for _, t := range teams {
			if !teamName.MatchString(t) {
				probs = append(probs, fmt.Sprintf("team %q: want 1–200 characters without control characters, commas or *", t))
			}
		}
	}
	if !expires.IsZero() && !expires.After(now) {
		probs = append(probs, "the expiry must be in the future")
	}
	if len(probs) > 0 {
		return "", Token{}, errors.New(strings.Join(probs, "; "))
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", Token{}, fmt.Errorf("token secret: %w", err)
	}
	secret := secretPrefix + base64.RawURLEncoding.EncodeToString(raw)
	idb := make([]byte, 8)
	if _, err := rand.Read(idb); err != nil {
		return "", Token{}, fmt.Errorf("token id: %w", err)
	}
	sum := sha256.Sum256([]byte(secret))
	t := Token{ID: "tok_" + hex.EncodeToString(idb), Name: name, Scopes: dedupe(scopes), Teams: dedupe(teams), Created: now, hash: sum[:]}
	if t.Teams == nil {
		t.Teams = []string{}
	}
	if !expires.IsZero() {
		e := expires.UTC().Truncate(time.Second)
		t.Expires = &e
	}
	if err := saveToken(ctx, db, t); err != nil {
		return "", Token{}, err
	}
	return secret, t, nil
}

// ListTokens returns every token, oldest first, without secrets.
func ListTokens(ctx context.Context, db *queries.DB) ([]Token, error) {
	return loadTokens(ctx, db)
}

// RevokeToken revokes the token id at once for new requests; a server
// notices within its token cache TTL (seconds), and the token's browser
// sessions end with it. Revoking a revoked token changes nothing. It
// returns ErrTokenNotFound for an unknown id.
func RevokeToken(ctx context.Context, db *queries.DB, id string) error {
	ts, err := loadTokens(ctx, db)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if t.ID != id {
			continue
		}
		if t.Revoked != nil {
			return nil
		}
		now := time.Now().UTC().Truncate(time.Second)
		t.Revoked = &now
		return saveToken(ctx, db, t)
	}
	return ErrTokenNotFound
}

func scopeList() string {
	s := make([]string, len(Scopes))
	for i, sc := range Scopes {
		s[i] = string(sc)
	}
	return strings.Join(s, ", ")
}

func dedupe[T comparable](in []T) []T {
	var out []T
	for _, v := range in {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func saveToken(ctx context.Context, db *queries.DB, t Token) error {
	scopes := make([]string, len(t.Scopes))
	for i, s := range t.Scopes {
		scopes[i] = string(s)
	}
	teams := t.Teams
	if teams == nil {
		teams = []string{}
	}
	row := []any{t.ID, t.Name, hex.EncodeToString(t.hash), scopes, teams, t.Created.UTC(), utcPtr(t.Expires), utcPtr(t.Revoked), uint64(time.Now().UnixNano())}
	if err := insertRows(ctx, db, "api_tokens", queries.SQL("api/api_tokens.columns"), [][]any{row}); err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	return nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func loadTokens(ctx context.Context, db *queries.DB) ([]Token, error) {
	var rows []struct {
		ID      string     `ch:"token_id"`
		Name    string     `ch:"name"`
		Hash    string     `ch:"hash"`
		Scopes  []string   `ch:"scopes"`
		Teams   []string   `ch:"teams"`
		Created time.Time  `ch:"created_at"`
		Expires *time.Time `ch:"expires_at"`
		Revoked *time.Time `ch:"revoked_at"`
	}
	if err := db.Select(ctx, &rows, queries.SQL("api/tokens.sql")); err != nil {
		return nil, fmt.Errorf("read tokens: %w", err)
	}
	out := make([]Token, 0, len(rows))
	for _, r := range rows {
		h, err := hex.DecodeString(r.Hash)
		if err != nil || len(h) != sha256.Size {
			continue // a malformed row can never match a secret
		}
		t := Token{ID: r.ID, Name: r.Name, Teams: r.Teams, Created: r.Created.UTC(), Expires: utcPtr(r.Expires), Revoked: utcPtr(r.Revoked), hash: h}
		for _, s := range r.Scopes {
			t.Scopes = append(t.Scopes, Scope(s))
		}
		if t.Teams == nil {
			t.Teams = []string{}
		}
		out = append(out, t)
	}
	return out, nil
}

// insertRows appends rows to table in one batch with an explicit column
// list (ClickHouse 18.16 drops batches without one).
func insertRows(ctx context.Context, db *queries.DB, table, columns string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	ctx, cancel := db.Context(ctx)
	defer cancel()
	b, err := db.Conn().PrepareBatch(ctx, "INSERT INTO "+table+" ("+columns+")")
	if err != nil {
		return fmt.Errorf("insert %s: %w", table, queries.Clean(err))
	}
	for _, r := range rows {
		if err := b.Append(r...); err != nil {
			_ = b.Abort()
			return fmt.Errorf("insert %s: %w", table, queries.Clean(err))
		}
	}
	if b.Rows() != len(rows) {
		_ = b.Abort()
		return fmt.Errorf("insert %s: batch holds %d of %d rows", table, b.Rows(), len(rows))
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("insert %s: %w", table, queries.Clean(err))
	}
	return nil
}

// tokenCache holds the token table for at most ttl (wall-clock time), so a
// revocation takes effect within ttl. A secret that matches nothing
// reloads the table at most once a second, so a token created a moment ago
// works at once.
type tokenCache struct {
	db      *queries.DB
	ttl     time.Duration
	observe func(query string, d time.Duration)

	mu       sync.Mutex
	loaded   time.Time
	missLoad time.Time
	tokens   []Token
}

func newTokenCache(db *queries.DB, ttl time.Duration, observe func(string, time.Duration)) *tokenCache {
	return &tokenCache{db: db, ttl: ttl, observe: observe}
}

// snapshot returns the cached tokens, reloading them when older than ttl
// or when force is set. A failed reload fails the request: a stale table
// could let a revoked token in.
func (tc *tokenCache) snapshot(ctx context.Context, force bool) ([]Token, error) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if !force && time.Since(tc.loaded) < tc.ttl && tc.tokens != nil {
		return tc.tokens, nil
	}
	if force && time.Since(tc.missLoad) < time.Second {
		return tc.tokens, nil
	}
	start := time.Now()
	ts, err := loadTokens(ctx, tc.db)
	tc.observe("tokens", time.Since(start))
	if err != nil {
		return nil, err
	}
	tc.tokens, tc.loaded = ts, time.Now()
	if force {
		tc.missLoad = tc.loaded
	}
	return ts, nil
}

// verify returns the active token whose secret is secret. The secret's
// hash is compared with every stored hash in constant time, so the time
// taken says nothing about how close a guess was.
func (tc *tokenCache) verify(ctx context.Context, secret string, now time.Time) (Token, error) {
	if !secretPattern.MatchString(secret) {
		return Token{}, errUnauthenticated
	}
	sum := sha256.Sum256([]byte(secret))
	for _, force := range []bool{false, true} {
		ts, err := tc.snapshot(ctx, force)
		if err != nil {
			return Token{}, err
		}
		found := -1
		for i := range ts {
			if subtle.ConstantTimeCompare(ts[i].hash, sum[:]) == 1 {
				found = i
			}
		}
		if found >= 0 {
			if !ts[found].Active(now) {
				return Token{}, errUnauthenticated
			}
			return ts[found], nil
		}
	}
	return Token{}, errUnauthenticated
}

// byID returns the active token id (for sessions, which carry the id).
func (tc *tokenCache) byID(ctx context.Context, id string, now time.Time) (Token, error) {
	ts, err := tc.snapshot(ctx, false)
	if err != nil {
		return Token{}, err
	}
	for _, t := range ts {
		if t.ID == id && t.Active(now) {
			return t, nil
		}
	}
	return Token{}, errUnauthenticated
}

// ParseScopes parses a comma-separated scope list (the CLI's --scopes).
func ParseScopes(s string) ([]Scope, error) {
	var out []Scope
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !slices.Contains(Scopes, Scope(p)) {
			return nil, fmt.Errorf("unknown scope %q (want %s)", p, scopeList())
		}
		out = append(out, Scope(p))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("at least one scope is required (%s)", scopeList())
	}
	return out, nil
}

// ParseTeams parses a comma-separated team list (the CLI's --teams); "*"
// means every team. An empty list is an error.
func ParseTeams(s string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, errors.New(`list the teams the token may see, or "*" for every team`)
	}
	return out, nil
}

// ParseExpiry parses the CLI's --expires: "never", a duration from now
// ("90d", "12h", "30m"), a date (end of that day is not implied: midnight
// UTC) or an RFC 3339 time. It returns the zero time for never.
func ParseExpiry(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "never":
		return time.Time{}, nil
	case strings.HasSuffix(s, "d"):
		n, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
		if err != nil || n <= 0 || n > 3650 {
			return time.Time{}, fmt.Errorf("expires %q: want a number of days from 1 to 3650, e.g. 90d", s)
		}
		return now.Add(time.Duration(n) * 24 * time.Hour), nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("expires %q: must be in the future", s)
		}
		return now.Add(d), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("expires %q: want never, 90d, 12h, 2027-01-01 or an RFC 3339 time", s)
}
