package reports

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"net/smtp"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// artifact is one run's file.
type artifact struct {
	name        string // file name, safe (see fileName)
	contentType string
	data        []byte
	sha256      string
}

// fileName expands an export's file name template for a run: {name},
// {period} (periodLabel), {date} and {time} of the scheduled instant in
// the export's zone, {format}. The result must be a plain file name of
// safe characters, or it is an error: it never names another directory.
func fileName(tmpl, name, period, format string, at time.Time) (string, error) {
	out := strings.NewReplacer(
		"{name}", name, "{period}", period, "{format}", format,
		"{date}", at.Format("2006-01-02"), "{time}", at.Format("1504"),
	).Replace(tmpl)
	if !safeFileName.MatchString(out) || strings.Contains(out, "..") || filepath.Base(out) != out {
		return "", fmt.Errorf("file name %q: not a safe file name", out)
	}
	return out, nil
}

// writeFile writes the artifact into dir atomically: a temporary file in
// the same directory, synced, then renamed over the final name, so a
// reader never sees half a workbook.
func writeFile(dir string, a artifact) (string, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".secmetrics-*.tmp")
	if err != nil {
		return "", fmt.Errorf("directory: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(a.data); err != nil {
		tmp.Close()
		return "", fmt.Errorf("directory: write: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", fmt.Errorf("directory: sync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("directory: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o640); err != nil {
		return "", fmt.Errorf("directory: %w", err)
	}
	final := filepath.Join(dir, a.name)
	if err := os.Rename(tmp.Name(), final); err != nil {
		return "", fmt.Errorf("directory: %w", err)
	}
	return final, nil
}

// sendMail sends the artifact as an attachment through the relay of m:
// STARTTLS (required unless turned off for a loopback relay), AUTH PLAIN
// when a username is set, one message to every recipient.
func sendMail(ctx context.Context, m *Email, subject, body string, a artifact, now time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, m.Timeout)
	defer cancel()
	addr := net.JoinHostPort(m.Host, strconv.Itoa(m.Port))
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("email: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, m.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("email: %w", err)
	}
	defer c.Close()
	if err := c.Hello(heloName()); err != nil {
		return fmt.Errorf("email: EHLO: %w", err)
	}
	if m.StartTLS == nil || *m.StartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fmt.Errorf("email: %s does not offer STARTTLS", addr)
		}
		cfg := &tls.Config{ServerName: m.Host, MinVersion: tls.VersionTLS12}
		if len(m.CAPEM) > 0 {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(m.CAPEM) {
				return errors.New("email: ca_file holds no PEM certificate")
			}
			cfg.RootCAs = pool
		}
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("email: STARTTLS: %w", err)
		}
	}
	if m.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", m.Username, m.Password, m.Host)); err != nil {
			return fmt.Errorf("email: AUTH: %w", err)
		}
	}
	from, _ := parseAddress(m.From)
	if err := c.Mail(from); err != nil {
		return fmt.Errorf("email: MAIL FROM: %w", err)
	}
	for _, to := range m.To {
		addr, _ := parseAddress(to)
		if err := c.Rcpt(addr); err != nil {
			return fmt.Errorf("email: RCPT TO %s: %w", addr, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("email: DATA: %w", err)
	}
	if _, err := w.Write(message(m, subject, body, a, now)); err != nil {
		return fmt.Errorf("email: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("email: %w", err)
	}
	if err := c.Quit(); err != nil {
		return fmt.Errorf("email: QUIT: %w", err)
	}
	return nil
}

// heloName is the name the client greets the relay with: the host name
// when it is fully qualified (strict relays refuse others), else
// "localhost".
func heloName() string {
	if h, err := os.Hostname(); err == nil && strings.Contains(h, ".") {
		return h
	}
	return "localhost"
}

// headerAddress formats an address for a header, encoding a non-ASCII
// display name.
func headerAddress(s string) string {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return s
	}
	return a.String()
}

// parseAddress returns the bare address of "Name <a@b>" for the envelope.
func parseAddress(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", err
	}
	return a.Address, nil
}

// message is the MIME message: a quoted-printable text part and the
// artifact base64-encoded as an attachment.
func message(m *Email, subject, body string, a artifact, now time.Time) []byte {
	var buf bytes.Buffer
	rnd := make([]byte, 12)
	_, _ = rand.Read(rnd)
	boundary := "secmetrics-" + hex.EncodeToString(rnd)
	hdr := func(k, v string) {
		fmt.Fprintf(&buf, "%s: %s\r\n", k, strings.NewReplacer("\r", " ", "\n", " ").Replace(v))
	}
	to := make([]string, len(m.To))
	for i, a := range m.To {
		to[i] = headerAddress(a)
	}
	hdr("From", headerAddress(m.From))
	hdr("To", strings.Join(to, ", "))
	hdr("Subject", mime.QEncoding.Encode("utf-8", subject))
	hdr("Date", now.Format(time.RFC1123Z))
	hdr("Message-ID", "<"+hex.EncodeToString(rnd)+"@secmetrics>")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", `multipart/mixed; boundary="`+boundary+`"`)
	buf.WriteString("\r\n--" + boundary + "\r\n")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "quoted-printable")
	buf.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&buf)
	_, _ = qp.Write([]byte(strings.ReplaceAll(body, "\n", "\r\n")))
	_ = qp.Close()
	buf.WriteString("\r\n--" + boundary + "\r\n")
	hdr("Content-Type", a.contentType+`; name="`+a.name+`"`)
	hdr("Content-Disposition", `attachment; filename="`+a.name+`"`)
	hdr("Content-Transfer-Encoding", "base64")
	buf.WriteString("\r\n")
	enc := base64.StdEncoding.EncodeToString(a.data)
	for len(enc) > 76 {
		buf.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	buf.WriteString(enc + "\r\n--" + boundary + "--\r\n")
	return buf.Bytes()
}

// Notification is the JSON body of a webhook call.
type Notification struct {
	Event        string    `json:"event"` // export.succeeded or export.failed
	Export       string    `json:"export"`
	RunID        string    `json:"run_id"`
	Status       string    `json:"status"`
	Attempt      int       `json:"attempt"`
	Period       string    `json:"period"`
	ScheduledFor time.Time `json:"scheduled_for"`
	File         string    `json:"file,omitempty"`
	Size         int       `json:"size,omitempty"`
	SHA256       string    `json:"sha256,omitempty"`
	Destinations []string  `json:"destinations"`
	Error        string    `json:"error,omitempty"`
}

// Webhook signature headers: the receiver recomputes
// hex(HMAC-SHA256(secret, timestamp + "." + body)) and compares it in
// constant time, and refuses old timestamps.
const (
	SignatureHeader = "X-Secmetrics-Signature" // "sha256=<hex>"
	TimestampHeader = "X-Secmetrics-Timestamp" // Unix seconds
)

// Sign returns the signature header value of body sent at ts.
func Sign(secret string, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(ts.Unix(), 10) + "."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// notify POSTs n to the webhook, signed. Any answer but 2xx is an error;
// redirects are not followed.
func notify(ctx context.Context, client *http.Client, w *Webhook, n Notification, now time.Time, version string) error {
	body, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, w.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "secmetrics/"+version)
	req.Header.Set(TimestampHeader, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(SignatureHeader, Sign(w.Secret, now, body))
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook: %s answered %s", hostOf(w.URL), resp.Status)
	}
	return nil
}

func hostOf(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	}
	if i := strings.IndexAny(u, "/?#"); i >= 0 {
		u = u[:i]
	}
	return u
}
