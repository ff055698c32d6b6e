// Package gitleaks reads Gitleaks v8 JSON reports (`gitleaks detect
// --report-format json`: an array of findings) into ingest findings.
// Gitleaks' SARIF output is read by ingest/sarif and gives the same keys.
//
// # Secrets
//
// A finding's Secret, Match and Line members contain the secret. The
// parser never decodes them: they are not copied out of the read buffer,
// never put in a Finding, an error or a log. Nothing derived from them
// (a hash) is used either. The commit's Author, Email and Message are not
// read.
//
// # Findings
//
// Kind is secret. Severity is high for every finding, because Gitleaks
// reports no severity and a leaked credential is usable as found until it
// is rotated; OriginalSeverity is empty (the tool wrote none). RuleID is
// RuleID, Title the rule's Description (else RuleID), File File, Line
// StartLine (0 when Gitleaks wrote 0), URL Link when Gitleaks wrote one.
// Gitleaks leaves allowlisted findings out of its report, so no finding is
// suppressed.
//
// # Identity
//
// Key is Fingerprint when the report has it (KeySource
// "gitleaks:fingerprint"). Reports of Gitleaks versions without it get
// the fingerprint Gitleaks itself builds, and that .gitleaksignore files
// list: Commit:File:RuleID:StartLine, or File:RuleID:StartLine when there is
// no commit (a --no-git scan). So one leak keeps one key across Gitleaks
// versions; it changes when the line moves, as Gitleaks' does. Two findings
// of one report with the same key (two secrets on one line) are told apart
// by "#2", "#3", ... appended in report order.
//
// # Scan
//
// Format and Scanner are "gitleaks" and Kinds is [secret]. The report names
// no version, asset, branch or scan time.
//
// # Errors and limits
//
// Malformed JSON, a truncated file, a value of the wrong type (a string
// StartLine), a finding without RuleID or StartLine, or anything but an
// array at the top level is an *ingest.FormatError whose Path names the
// place, e.g. "[3].StartLine". A JSON string longer than Parser.MaxString
// (1 MiB) or a finding longer than Parser.MaxRecord (8 MiB) is an error.
package gitleaks
