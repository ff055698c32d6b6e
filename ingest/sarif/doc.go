// Package sarif reads SARIF 2.1.0 logs into ingest findings. It knows the
// logs of CodeQL, Semgrep, Trivy, Grype, Gitleaks, Checkov, KICS and tfsec,
// and reads any other emitter's log by the standard's rules alone.
//
// # Streaming
//
// The log is read token by token; each result, rule, invocation and
// provenance entry is decoded on its own and dropped once used, and values
// the parser does not need (artifacts, taxonomies, code flows outside a
// result) are skipped without being held whole. What is kept is the rules
// table (id, short description, severity inputs, package fields: not the
// help texts) and, only when results come before their run's tool, one
// compact record per result.
//
// SARIF does not order an object's members, and emitters differ: Semgrep
// writes its keys sorted, so "results" comes before "tool" and the rules
// needed for severity arrive last. Results read before the tool are held as
// compact records (no raw JSON, no snippet, the message cut to a title, a
// digest of it for keys; repeated rule ids, files and titles shared) and
// turned into findings, in report order, as soon as the tool has been read,
// at the latest at the end of the run. Results read after the tool are
// emitted at once. Stats.MaxPending says how many were held. For Trivy the
// parser also waits for run.properties (or the end of the run), which says
// whether the run scanned an image.
//
// # Scan
//
// Scanner is runs[0].tool.driver.name in lower case, with editions folded
// ("Semgrep OSS" and "Semgrep PRO" are "semgrep", any "CodeQL ..." is
// "codeql"). A log whose runs name different tools is an error: its findings
// could not be attributed to one scanner. ScannerVersion is the driver's
// semanticVersion, else its version. Asset is Trivy's properties.imageName
// (ingest.ImageAsset), else the repositoryUri of the first
// versionControlProvenance entry (ingest.RepoAsset), which also gives
// Branch and Commit (revisionId). Time is runs[0].invocations[0]'s
// startTimeUtc, else its endTimeUtc.
//
// Kinds are the kinds implied by each run's tool, whether or not it has
// results: [sast] for CodeQL, Semgrep and unknown tools, [secret] for
// Gitleaks, [iac] for Checkov, KICS and tfsec, [container, sca] for Trivy and
// Grype (each package finding is one or the other, by the artifact), plus
// the kind of every finding emitted. When a run says its tool failed
// (an invocation with executionSuccessful false) or has "results": null
// (no results list was produced), the scan claims no kinds at all: absence
// from it proves nothing.
//
// # Kind
//
// Trivy: rule name Misconfiguration (or tag "misconfiguration") is iac,
// Secret (or tag "secret") is secret, OsPackageVulnerability is container,
// other package findings are container when the run names an image and sca
// otherwise (License findings included). Grype: container when the message
// says the package is "installed in the container" or the run names an
// image, else sca. Gitleaks (and other secret scanners: TruffleHog,
// detect-secrets, ggshield, Nosey Parker, Secretlint) are secret; Checkov,
// KICS, tfsec and Terrascan are iac; OSV-Scanner and Dependency-Check are
// sca; CodeQL, Semgrep and any unknown tool are sast.
//
// # Severity
//
// The first of these that is present decides; its text as written is kept
// in OriginalSeverity:
//
//  1. properties["security-severity"] of the result, then of its rule. A
//     number ("8.8", or 8.8) is a CVSS-like score (ingest.SeverityFromScore,
//     so 9.0 is critical and 7.0 high); any other text is a word
//     (ingest.ParseSeverity: "HIGH" is high). A value that is neither
//     (a score above 10, "bogus") gives unknown rather than falling
//     through, so that the odd value is visible.
//  2. properties["severity"] of the result, then of its rule, when it is a
//     severity word ingest.ParseSeverity knows (Checkov, KICS, custom
//     emitters); other values are passed over.
//  3. a rule tag that is exactly CRITICAL, HIGH, MEDIUM or LOW, as older
//     Trivy templates write.
//  4. the result's level, then its rule's defaultConfiguration.level:
//     error is high, warning medium, note low, none info.
//  5. SARIF's own default level: warning (medium) for a result whose kind
//     is fail or absent, none (info) for review, open and informational
//     results. OriginalSeverity is then empty: the tool wrote nothing.
//
// # Identity
//
// Key is, in this order of preference:
//
//  1. fingerprints["matchBasedId/v1"] (Semgrep; the same value as
//     extra.fingerprint in Semgrep's JSON, so both formats give one key),
//     else the fingerprints entry whose name sorts first; KeySource
//     "sarif:<name>".
//  2. ruleId|file|partialFingerprints.primaryLocationLineHash (CodeQL,
//     Grype): the hash is of the flagged line's content, so the key
//     survives lines moving; the file keeps equal lines in two files apart.
//  3. for secrets, Gitleaks' own fingerprint: commitSha:file:ruleId:line,
//     or file:ruleId:line without a commit (partialFingerprints.commitSha).
//     It moves with the line, as Gitleaks' does, and never hashes the
//     secret or its snippet.
//  4. for container and sca findings with a package (Trivy, Grype):
//     ruleId|file|package. The version is left out so that an upgrade that
//     is still vulnerable stays one finding.
//  5. ruleId|file|snippet:<digest of the snippet, white space collapsed>.
//  6. ruleId|file|message:<digest of the message, white space collapsed>.
//     Neither 5 nor 6 includes the line, so both survive code moving
//     around the finding; both change when the flagged code or message
//     text does.
//  7. ruleId|file|line, the last resort.
//
// File is the first location's artifactLocation.uri (a file: URI gives its
// path; percent-escapes are decoded) and Line its region.startLine. Two
// findings of one log with the same key are told apart by "#2", "#3", ...
// appended in report order.
//
// # Suppressions and skipped results
//
// A result with a suppression whose status is accepted or absent is
// suppressed: Suppression is "sarif:" plus the suppression's kind
// ("sarif:inSource", "sarif:external") and StatusReason its justification.
// Suppressions under review or rejected leave the finding open.
//
// Results with baselineState "absent" are the tool saying a finding of an
// earlier run is gone, and results of kind pass or notApplicable say
// nothing is wrong: neither is a current finding, so neither is emitted.
// They are counted in Stats (Absent, Passed), never dropped unseen.
//
// # Titles, ids and secrets
//
// Title is the message's first sentence (at most 200 characters), else the
// rule's shortDescription, name or id; for Trivy and Grype it is the rule's
// shortDescription (the advisory title). CVE is the first CVE id found in
// the rule id (Trivy and Grype rule ids start with the advisory id), in
// rule or result tags that are exactly an id, in cve, cves or ghsa
// properties, or in the "Vulnerability <id>" line of a Trivy or Grype help
// text; the other ids found (GHSA, GO-, further CVEs, ...) are Aliases.
// CWE and OWASP tags are not vulnerability ids and are not kept.
//
// For secret findings the message, snippet and properties are never kept:
// the title is the rule's shortDescription, name or id, and the key never
// includes a digest of the secret. When a Gitleaks log is known to be one
// before its results are read, the message is not even held.
//
// # Errors and limits
//
// Malformed JSON, a truncated file, a value of the wrong type (a string
// startLine), a result without ruleId, rule.id or a rule index, a rule
// without id, a run without tool, a bad suppression status, an unsupported
// version or an unexpected top-level shape are *ingest.FormatError values
// whose Path names the place, e.g.
// "runs[0].results[12].locations[0].physicalLocation.region.startLine".
// Property bags are free-form and read leniently. A JSON string longer
// than Parser.MaxString (1 MiB) or a single record longer than
// Parser.MaxRecord (32 MiB) is an error, so a hostile file cannot make the
// parser buffer without limit.
package sarif
