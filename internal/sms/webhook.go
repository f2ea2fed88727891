package sms

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The headers of a webhook request; see the package documentation.
const (
	HeaderTimestamp = "X-Gatehouse-Timestamp"
	HeaderSignature = "X-Gatehouse-Signature"
)

// MinWebhookSecretLength is the least length of the webhook secret, in
// bytes: HMAC-SHA256 wants a key at least as long as its 256-bit output.
const MinWebhookSecretLength = 32

// DefaultWebhookTolerance is how far a webhook's timestamp may be from the
// receiver's clock, either way, when VerifyWebhook is given no tolerance.
const DefaultWebhookTolerance = 5 * time.Minute

// Errors of VerifyWebhook, to match with errors.Is.
var (
	// ErrWebhookMalformed: the timestamp is not decimal Unix seconds, or the
	// signature header holds no well-formed "v1=" signature.
	ErrWebhookMalformed = errors.New("sms: webhook: malformed timestamp or signature")
	// ErrWebhookSignature: no signature matches the timestamp and body.
	ErrWebhookSignature = errors.New("sms: webhook: signature does not match")
	// ErrWebhookTimestamp: the timestamp is too old (a replay) or too far in
	// the future.
	ErrWebhookTimestamp = errors.New("sms: webhook: timestamp outside the tolerance")
)

// WebhookConfig configures a webhook sender (GATEHOUSE_SMS_WEBHOOK_*).
type WebhookConfig struct {
	// URL receives the POST: http or https, any path and query. User
	// information in it is sent as basic auth; it is never quoted in errors.
	URL string
	// Secret keys the HMAC signature; at least MinWebhookSecretLength bytes.
	Secret []byte
	// HTTPClient makes the requests; nil means a client with
	// http.DefaultTransport. It is copied, and the copy follows no redirects.
	HTTPClient *http.Client
	// Timeout bounds each Send; zero means DefaultTimeout.
	Timeout time.Duration
	// Now gives the time of the signature; nil means time.Now.
	Now func() time.Time
}

// Webhook sends SMS by a signed HTTP POST to a gateway of the operator's
// choice; the package documentation describes the request. It is safe for
// concurrent use.
type Webhook struct {
	url     *url.URL
	secret  []byte
	client  *http.Client
	timeout time.Duration
	now     func() time.Time
}

var _ Provider = (*Webhook)(nil)

// NewWebhook checks cfg and returns a sender. The error lists every problem
// with cfg at once; it never quotes the secret or the URL's password.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	var errs []error
	u, err := parseHTTPURL(cfg.URL)
	if err != nil {
		errs = append(errs, fmt.Errorf("sms: webhook: URL %w", err))
	}
	if len(cfg.Secret) < MinWebhookSecretLength {
		errs = append(errs, fmt.Errorf("sms: webhook: Secret has %d bytes; it needs at least %d (head -c 32 /dev/urandom | base64)", len(cfg.Secret), MinWebhookSecretLength))
	}
	if cfg.Timeout < 0 {
		errs = append(errs, errors.New("sms: webhook: Timeout is negative"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	w := &Webhook{
		url:     u,
		secret:  bytes.Clone(cfg.Secret),
		client:  newClient(cfg.HTTPClient),
		timeout: cfg.Timeout,
		now:     cfg.Now,
	}
	if w.timeout == 0 {
		w.timeout = DefaultTimeout
	}
	if w.now == nil {
		w.now = time.Now
	}
	return w, nil
}

// webhookMessage is the JSON body of a webhook request.
type webhookMessage struct {
	To   string `json:"to"`
	Body string `json:"body"`
}

// Send POSTs {"to": to, "body": body}, signed, to the gateway. It returns
// nil when the gateway answers 2xx, and an error naming the status when it
// answers anything else (a redirect included); also when to or body cannot
// be sent, the gateway could not be reached, or no answer came in time.
func (w *Webhook) Send(ctx context.Context, to, body string) error {
	const op = "sms: webhook: send"
	if err := checkMessage(to, body); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()

	payload, err := json.Marshal(webhookMessage{To: to, Body: body})
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	ts := strconv.FormatInt(w.now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url.String(), bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, "v1="+hex.EncodeToString(webhookMAC(w.secret, ts, payload)))

	resp, err := w.client.Do(req)
	if err != nil {
		return transportError(op, w.url, err)
	}
	defer resp.Body.Close()
	// The answer's body is not quoted: a gateway may echo the message, and
	// the message holds the code.
	_, _ = readBounded(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s: POST %s: the gateway answered HTTP %d %s", op, redact(w.url), resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return nil
}

// webhookMAC is HMAC-SHA256(secret, timestamp + "." + body).
func webhookMAC(secret []byte, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// VerifyWebhook checks a webhook request as a gateway receives it: timestamp
// and signature are the values of the X-Gatehouse-Timestamp and
// X-Gatehouse-Signature headers, body the raw request body, now the
// receiver's clock. A tolerance of zero or less means
// DefaultWebhookTolerance.
//
// It returns nil if one of the "v1=" signatures in the header is the
// HMAC-SHA256 of timestamp + "." + body under secret (compared in constant
// time) and the timestamp is within tolerance of now, either way. Otherwise
// it returns an error that matches ErrWebhookMalformed, ErrWebhookSignature
// or ErrWebhookTimestamp.
func VerifyWebhook(secret []byte, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	if len(secret) == 0 {
		return errors.New("sms: webhook: verify: no secret")
	}
	if tolerance <= 0 {
		tolerance = DefaultWebhookTolerance
	}
	// Decimal digits only: ParseInt alone would also take "+1" and "-1".
	if timestamp == "" || len(timestamp) > 18 || strings.Trim(timestamp, "0123456789") != "" {
		return fmt.Errorf("%w: the timestamp is not Unix seconds", ErrWebhookMalformed)
	}
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: the timestamp is not Unix seconds", ErrWebhookMalformed)
	}

	var sigs [][]byte
	for part := range strings.SplitSeq(signature, ",") {
		scheme, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || scheme != "v1" {
			continue // another scheme, for a later version
		}
		sig, err := hex.DecodeString(value)
		if err != nil || len(sig) != sha256.Size {
			return fmt.Errorf("%w: a v1 signature is not 64 hex digits", ErrWebhookMalformed)
		}
		sigs = append(sigs, sig)
	}
	if len(sigs) == 0 {
		return fmt.Errorf("%w: no v1 signature", ErrWebhookMalformed)
	}

	want := webhookMAC(secret, timestamp, body)
	match := false
	for _, sig := range sigs {
		if hmac.Equal(sig, want) {
			match = true
		}
	}
	if !match {
		return ErrWebhookSignature
	}

	// Before and After, not now.Sub: a timestamp centuries away would
	// overflow a Duration, and a saturated one compares wrongly.
	sent := time.Unix(sec, 0)
	if now.After(sent.Add(tolerance)) {
		return fmt.Errorf("%w: signed more than %s ago", ErrWebhookTimestamp, tolerance)
	}
	if now.Before(sent.Add(-tolerance)) {
		return fmt.Errorf("%w: signed more than %s in the future", ErrWebhookTimestamp, tolerance)
	}
	return nil
}
