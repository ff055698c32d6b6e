package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/secmetrics/secmetrics/api"
)

const tokenUsage = `usage:
  secmetrics token create --name NAME --scopes SCOPE[,SCOPE] --teams TEAM[,TEAM]|* [--expires 90d|12h|2027-01-01|never]
  secmetrics token list
  secmetrics token revoke ID
scopes: read:kpis, read:findings, export, ingest, triage, admin`

// token manages API tokens. The secret of a new token is printed once, on
// stdout alone (so it can be captured); everything else goes to stderr.
// Only its SHA-256 is stored.
func (e *env) token(args []string) error {
	if len(args) == 0 {
		return errors.New(tokenUsage)
	}
	switch args[0] {
	case "create":
		return e.tokenCreate(args[1:])
	case "list":
		if len(args) != 1 {
			return errors.New(tokenUsage)
		}
		return e.tokenList()
	case "revoke":
		if len(args) != 2 {
			return errors.New(tokenUsage)
		}
		return e.tokenRevoke(args[1])
	}
	return fmt.Errorf("unknown token command %q\n%s", args[0], tokenUsage)
}

func (e *env) tokenCreate(args []string) error {
	fs := newFlags("token create", e.stderr)
	name := fs.String("name", "", "a name for the token, shown in the audit log (required)")
	scopes := fs.String("scopes", "", "comma-separated scopes (required)")
	teams := fs.String("teams", "", `comma-separated teams the token may see, or "*" for every team (required)`)
	expires := fs.String("expires", "90d", "expiry: a duration (90d, 12h), a date, an RFC 3339 time, or never")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return errors.New(tokenUsage)
	}
	var probs []string
	sc, err := api.ParseScopes(*scopes)
	if err != nil {
		probs = append(probs, "--scopes: "+err.Error())
	}
	tm, err := api.ParseTeams(*teams)
	if err != nil {
		probs = append(probs, "--teams: "+err.Error())
	}
	exp, err := api.ParseExpiry(*expires, time.Now())
	if err != nil {
		probs = append(probs, "--expires: "+err.Error())
	}
	if *name == "" {
		probs = append(probs, "--name: required")
	}
	if len(probs) > 0 {
		return errors.New(strings.Join(probs, "\n"))
	}
	d, err := e.open()
	if err != nil {
		return err
	}
	defer d.Close()
	secret, t, err := api.CreateToken(e.ctx, d.db, *name, sc, tm, exp)
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	fmt.Fprintf(e.stderr, "created token %s (%s): scopes %s, teams %s, expires %s\n",
		t.ID, t.Name, scopesText(t.Scopes), teamsText(t.Teams), timeText(t.Expires))
	fmt.Fprintln(e.stderr, "the secret below is shown only now; store it in a secret manager:")
	fmt.Fprintln(e.stdout, secret)
	return nil
}

func (e *env) tokenList() error {
	d, err := e.open()
	if err != nil {
		return err
	}
	defer d.Close()
	ts, err := api.ListTokens(e.ctx, d.db)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tNAME\tSCOPES\tTEAMS\tCREATED\tEXPIRES\tSTATE")
	now := time.Now()
	for _, t := range ts {
		state := "active"
		switch {
		case t.Revoked != nil:
			state = "revoked " + t.Revoked.Format(time.RFC3339)
		case !t.Active(now):
			state = "expired"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, scopesText(t.Scopes), teamsText(t.Teams),
			t.Created.Format(time.RFC3339), timeText(t.Expires), state)
	}
	return w.Flush()
}

func (e *env) tokenRevoke(id string) error {
	d, err := e.open()
	if err != nil {
		return err
	}
	defer d.Close()
	if err := api.RevokeToken(e.ctx, d.db, id); err != nil {
		if errors.Is(err, api.ErrTokenNotFound) {
			return fmt.Errorf("no token %q (see secmetrics token list)", id)
		}
		return err
	}
	fmt.Fprintf(e.stdout, "revoked %s; servers refuse it within their token cache TTL (server.token_cache_ttl), its browser sessions end with it\n", id)
	return nil
}

func scopesText(s []api.Scope) string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = string(x)
	}
	return strings.Join(out, ",")
}

func teamsText(t []string) string {
	if len(t) == 0 {
		return "*"
	}
	return strings.Join(t, ",")
}

func timeText(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.Format(time.RFC3339)
}
