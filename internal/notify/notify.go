// Package notify sends webhooks when a request needs review and when it
// is decided: a Slack-compatible payload (text and blocks, with a link to
// the request) or a generic JSON one, signed with an HMAC so receivers can
// verify it, retried with backoff. Sending never blocks the gateway: the
// notices queue, and a failure is reported through a callback (the gateway
// audits it).
package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/gateway"
)

var _ gateway.Notifier = (*Notifier)(nil)

// Webhook is one receiver.
type Webhook struct {
	URL    string
	Format string // "slack" or "json"
	Secret []byte // signs the body; empty: unsigned
}

// SignatureHeader carries the signature: "t=UNIX,v1=HEX", where HEX is the
// HMAC-SHA256, keyed with the webhook's secret, of "UNIX." followed by the
// body. Receivers recompute it and reject old timestamps (replays).
const SignatureHeader = "X-Gatehouse-Signature"

// Sign returns the signature header value for body at t.
func Sign(secret, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature header against body, accepting timestamps up
// to maxAge old; receivers written in Go can use it.
func Verify(secret, body []byte, header string, now time.Time, maxAge time.Duration) error {
	var ts, sig string
	for _, part := range bytes.Split([]byte(header), []byte(",")) {
		k, v, _ := bytes.Cut(part, []byte("="))
		switch string(k) {
		case "t":
			ts = string(v)
		case "v1":
			sig = string(v)
		}
	}
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return errors.New("malformed signature header")
	}
	if age := now.Sub(time.Unix(n, 0)); age > maxAge || age < -maxAge {
		return errors.New("signature timestamp too old or in the future")
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts + "."))
	m.Write(body)
	if !hmac.Equal([]byte(hex.EncodeToString(m.Sum(nil))), []byte(sig)) {
		return errors.New("signature does not match")
	}
	return nil
}

// Options tune a notifier.
type Options struct {
	// Backoff are the waits before each retry; nil: 1s, 2s, 4s, 8s.
	Backoff []time.Duration
	// Timeout bounds one delivery; 0: 10s.
	Timeout time.Duration
	// Queue is how many notices may wait; 0: 1024. Past it, notices are
	// dropped and reported as failures.
	Queue int
	// OnFailure is told of every notice that could not be delivered.
	OnFailure func(n gateway.Notice, url string, err error)
	// Client sends the requests; nil: a client that follows no redirects.
	Client *http.Client
}

// Notifier delivers notices to webhooks.
type Notifier struct {
	hooks []Webhook
	opts  Options
	log   *slog.Logger
	queue chan gateway.Notice
	wg    sync.WaitGroup
	stop  context.CancelFunc
	once  sync.Once

	mu     sync.Mutex // guards closed and sends on queue
	closed bool
}

// New starts a notifier; Close stops it.
func New(hooks []Webhook, opts Options, log *slog.Logger) *Notifier {
	if opts.Backoff == nil {
		opts.Backoff = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Queue <= 0 {
		opts.Queue = 1024
	}
	if opts.Client == nil {
		opts.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	life, stop := context.WithCancel(context.Background())
	n := &Notifier{hooks: hooks, opts: opts, log: log.With("component", "notify"), queue: make(chan gateway.Notice, opts.Queue), stop: stop}
	n.wg.Add(1)
	go n.run(life)
	return n
}

// Notify queues a notice for every webhook; it never blocks.
func (n *Notifier) Notify(no gateway.Notice) {
	if len(n.hooks) == 0 {
		return
	}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	select {
	case n.queue <- no:
		n.mu.Unlock()
	default:
		n.mu.Unlock()
		n.fail(no, "", errors.New("notification queue full; notice dropped"))
	}
}

// Close stops sending after the notices already queued were tried once
// more at most, waiting up to grace.
func (n *Notifier) Close(grace time.Duration) {
	n.once.Do(func() {
		n.mu.Lock()
		n.closed = true
		close(n.queue)
		n.mu.Unlock()
		done := make(chan struct{})
		go func() { n.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(grace):
			n.stop()
			<-done
		}
		n.stop()
	})
}

func (n *Notifier) run(ctx context.Context) {
	defer n.wg.Done()
	for no := range n.queue {
		for _, h := range n.hooks {
			n.wg.Add(1)
			go func() {
				defer n.wg.Done()
				n.deliver(ctx, h, no)
			}()
		}
	}
}

func (n *Notifier) fail(no gateway.Notice, url string, err error) {
	n.log.Warn("notification failed", "request", no.Request.ID, "event", no.Event, "url", redact(url), "error", err)
	if n.opts.OnFailure != nil {
		n.opts.OnFailure(no, redact(url), err)
	}
}

// deliver sends one notice to one webhook, retrying with backoff.
func (n *Notifier) deliver(ctx context.Context, h Webhook, no gateway.Notice) {
	body, err := Payload(h.Format, no)
	if err != nil {
		n.fail(no, h.URL, err)
		return
	}
	var last error
	for attempt := 0; ; attempt++ {
		retry, err := n.post(ctx, h, body)
		if err == nil {
			return
		}
		last = err
		if !retry || attempt >= len(n.opts.Backoff) {
			break
		}
		t := time.NewTimer(n.opts.Backoff[attempt])
		select {
		case <-ctx.Done():
			t.Stop()
			n.fail(no, h.URL, fmt.Errorf("gave up at shutdown after %d attempts: %w", attempt+1, last))
			return
		case <-t.C:
		}
	}
	n.fail(no, h.URL, last)
}

// post sends body once; retry says whether trying again may help.
func (n *Notifier) post(ctx context.Context, h Webhook, body []byte) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, n.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("build webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "gatehouse-webhook/1")
	if len(h.Secret) > 0 {
		req.Header.Set(SignatureHeader, Sign(h.Secret, body, time.Now()))
	}
	resp, err := n.opts.Client.Do(req)
	if err != nil {
		return true, fmt.Errorf("post webhook: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return true, fmt.Errorf("webhook answered %s", resp.Status)
	}
	return false, fmt.Errorf("webhook answered %s", resp.Status)
}

// redact keeps a webhook URL's scheme and host: Slack's URLs carry their
// secret in the path.
func redact(u string) string {
	for i := 0; i < len(u); i++ {
		if u[i] == '/' && i > 8 {
			return u[:i] + "/…"
		}
	}
	return u
}

// marshal encodes v without escaping HTML (receivers read it as JSON).
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}
