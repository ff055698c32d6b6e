// Package semgrep reads `semgrep --json` reports (results, errors,
// version) into ingest findings. Semgrep's SARIF output is read by
// ingest/sarif; both give a finding the same key when Semgrep wrote a
// fingerprint.
//
// # Streaming
//
// The report is read token by token and each result is decoded, turned
// into a finding and emitted on its own; paths.scanned (one entry per
// file) and other members the parser does not need are skipped without
// being held whole.
//
// # Scan
//
// Format is "semgrep", Scanner "semgrep", ScannerVersion the report's
// version. Kinds is [sast], plus sca and secret when the report has
// Supply Chain or Secrets findings. A scan that did not cover everything
// claims no kinds, so that nothing is marked fixed by it: that is an entry
// of errors with level "error" (a rule or configuration error; the results
// are then partial or empty), or a Timeout or OutOfMemory error of any
// level (transient: the same file may be analysed next time, and its
// findings would flap). Syntax and parse errors do not count: they recur on
// every scan of the same file, so they cannot make a finding look fixed.
//
// # Kind
//
// A result is secret when its rule's metadata says product: secrets
// (Semgrep Secrets), sca when it carries sca_info or its product is
// supply-chain (Semgrep Supply Chain), sast otherwise.
//
// # Severity
//
// Semgrep's own severity (extra.severity) decides, with Semgrep's own
// equivalences between its old and new vocabularies: CRITICAL is critical,
// ERROR and HIGH are high, WARNING and MEDIUM are medium, INFO and LOW are
// low, INVENTORY and EXPERIMENT are info. OriginalSeverity is the text as
// written ("WARNING"). For Supply Chain results the advisory's
// sca-severity (CRITICAL, HIGH, MODERATE, LOW) decides instead. When
// extra.severity is missing or unknown, metadata.impact (HIGH, MEDIUM,
// LOW) decides, else the severity is unknown.
//
// metadata.impact and metadata.confidence do not otherwise change the
// severity: rule authors derive a rule's severity from its likelihood and
// impact already, and confidence is how often the rule is right, not how
// bad the weakness is when it is real.
//
// # Identity
//
// Key is extra.fingerprint (KeySource "semgrep:fingerprint"), except that
// Semgrep writes the literal "requires login" when it has none; then:
//
//   - for secrets: path:check_id:line (the line moves the key, as it does
//     Gitleaks'; nothing derived from the secret is used);
//   - for Supply Chain results: check_id|path|package;
//   - otherwise check_id|path|match:<digest>, the digest being of the
//     message (which has the metavariables interpolated) and of every
//     metavariable's bound code, white space collapsed. It does not
//     include the line, so it survives code moving around the finding;
//     it changes when the matched code does.
//   - with neither message nor metavariables: check_id|path|line.
//
// Two findings of one report with the same key are told apart by "#2",
// "#3", ... appended in report order.
//
// # Other fields
//
// RuleID is check_id, File path, Line start.line. Title is the message's
// first sentence (at most 200 characters); for secrets it is the rule's
// secret_type or check_id, never the message (Semgrep interpolates the
// matched secret into it). The matched source ("lines") is never read.
// CVE and Aliases hold vulnerability ids only (metadata cve and ghsa, a
// check_id starting with one); CWE and OWASP categories are not
// vulnerability ids and are not kept. URL is metadata.source, else
// metadata.shortlink. Supply Chain results give Package and
// InstalledVersion (sca_info's found dependency) and FixedVersion
// (metadata sca-fix-versions). A result with extra.is_ignored true (a
// nosemgrep comment) has Suppression "semgrep:nosemgrep".
//
// # Errors and limits
//
// Malformed JSON, a truncated file, a value of the wrong type (a string
// start.line), a result without check_id, path or start.line, a report
// without results, or an unexpected top-level shape are
// *ingest.FormatError values whose Path names the place, e.g.
// "results[12].start.line". Rule metadata is free-form and read leniently.
// A JSON string longer than Parser.MaxString (1 MiB) or a single result
// longer than Parser.MaxRecord (16 MiB) is an error.
package semgrep
