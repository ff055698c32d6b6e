package jira

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/secmetrics/secmetrics/ingest"
)

// notes collects what a mapping did with one instance's issues: tickets
// per kind and team, and every value that mapped to nothing. The dry run
// prints them; a real pull logs their totals.
type notes struct {
	tickets, transitions, worklogs, findings int

	byKindTeam  map[[2]string]int
	other       map[string]int            // "project / issue type" of tickets no kind rule matched
	unmapped    map[string]map[string]int // what → value → occurrences
	byCategory  map[string]string         // status → "category → state", mapped by category only
	catCount    map[string]int
	noStatus    map[string]int // status → occurrences, mapped to nothing (state new)
	noStatusCat map[string]string
	fixedBy     map[string]int // resolutions counted as fixed
	noAsset     []string       // vulnerability tickets without an asset
	missing     []string       // configured fields the instance lacks
	noTeam      int
}

func newNotes() *notes {
	return &notes{
		byKindTeam:  map[[2]string]int{},
		other:       map[string]int{},
		unmapped:    map[string]map[string]int{},
		byCategory:  map[string]string{},
		catCount:    map[string]int{},
		noStatus:    map[string]int{},
		noStatusCat: map[string]string{},
		fixedBy:     map[string]int{},
	}
}

func (n *notes) ticket(t ingest.Ticket) {
	n.tickets++
	n.byKindTeam[[2]string{string(t.Kind), t.Team}]++
	if t.Kind == ingest.TicketOther {
		n.other[fmt.Sprintf("project %s, issue type %s", t.Project, t.IssueType)]++
	}
	if t.Team == "" {
		n.noTeam++
	}
}

// status notes how a status seen on a ticket or in its history mapped.
func (n *notes) status(name, category string, state ingest.TicketState, how string) {
	if name == "" {
		return
	}
	switch how {
	case "category":
		n.byCategory[name] = fmt.Sprintf("category %s → %s", category, state)
		n.catCount[name]++
	case "":
		n.noStatus[name]++
		n.noStatusCat[name] = or(category, "none")
	}
}

func (n *notes) unmappedValue(what, value string) {
	m := n.unmapped[what]
	if m == nil {
		m = map[string]int{}
		n.unmapped[what] = m
	}
	m[value]++
}

func (n *notes) resolution(name string) { n.fixedBy[name]++ }

func (n *notes) missingAsset(key string) { n.noAsset = append(n.noAsset, key) }

// problems is the number of values that mapped to nothing.
func (n *notes) problems() int {
	c := len(n.noStatus) + len(n.missing) + len(n.noAsset) + len(n.other)
	for _, m := range n.unmapped {
		c += len(m)
	}
	return c
}

// write prints the notes of one instance.
func (n *notes) write(w io.Writer, in *Instance, since time.Time, pullErr error) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Jira dry run: instance %q (%s, %s), issues updated since %s\n",
		in.Name, in.Flavor, in.BaseURL, since.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "%d tickets, %d transitions, %d worklogs, %d findings would be written\n",
		n.tickets, n.transitions, n.worklogs, n.findings)
	if pullErr != nil {
		fmt.Fprintf(&b, "THE PULL FAILED, the figures are partial: %v\n", pullErr)
	}

	b.WriteString("\nTickets by kind and team:\n")
	tw := tabwriter.NewWriter(&b, 2, 8, 2, ' ', 0)
	keys := make([][2]string, 0, len(n.byKindTeam))
	for k := range n.byKindTeam {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	fmt.Fprintln(tw, "  kind\tteam\ttickets\t")
	kinds := map[string]int{}
	for _, k := range keys {
		fmt.Fprintf(tw, "  %s\t%s\t%d\t\n", k[0], or(k[1], "(no team)"), n.byKindTeam[k])
		kinds[k[0]] += n.byKindTeam[k]
	}
	_ = tw.Flush()
	b.WriteString("\nTickets by kind:\n")
	for _, k := range sortedKeys(kinds) {
		fmt.Fprintf(&b, "  %s: %d\n", k, kinds[k])
	}

	b.WriteString("\nValues that mapped to nothing:\n")
	if n.problems() == 0 && n.noTeam == 0 {
		b.WriteString("  none\n")
	}
	for _, m := range n.missing {
		fmt.Fprintf(&b, "  field: %s\n", m)
	}
	for _, s := range sortedKeys(n.noStatus) {
		fmt.Fprintf(&b, "  status %q (category %s): seen %d times, state new\n", s, n.noStatusCat[s], n.noStatus[s])
	}
	for _, what := range sortedKeys(n.unmapped) {
		m := n.unmapped[what]
		for _, v := range sortedKeys(m) {
			fmt.Fprintf(&b, "  %s %q: seen %d times\n", what, v, m[v])
		}
	}
	for _, o := range sortedKeys(n.other) {
		fmt.Fprintf(&b, "  kind: no rule matches %s: %d tickets (kind other)\n", o, n.other[o])
	}
	if n.noTeam > 0 {
		fmt.Fprintf(&b, "  team: %d tickets have no team\n", n.noTeam)
	}
	if len(n.noAsset) > 0 {
		sort.Strings(n.noAsset)
		fmt.Fprintf(&b, "  asset: %d vulnerability tickets name no asset and do not become findings: %s\n",
			len(n.noAsset), strings.Join(n.noAsset, ", "))
	}
	if len(n.byCategory) > 0 {
		b.WriteString("\nStatuses mapped by their category only (name them in mapping.states.statuses to be explicit):\n")
		for _, s := range sortedKeys(n.byCategory) {
			fmt.Fprintf(&b, "  status %q: %s, seen %d times\n", s, n.byCategory[s], n.catCount[s])
		}
	}
	if len(n.fixedBy) > 0 {
		b.WriteString("\nVulnerability resolutions counted as fixed:\n")
		for _, r := range sortedKeys(n.fixedBy) {
			fmt.Fprintf(&b, "  %q: %d tickets\n", r, n.fixedBy[r])
		}
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
