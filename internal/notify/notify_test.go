package notify_test

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/notify"
)

var secret = []byte("webhook-secret-0123456789")

func notice(event string) gateway.Notice {
	rows := int64(12400)
	return gateway.Notice{Event: event, Link: "https://gatehouse.example/v1/requests/req_1", Request: gateway.NoticeRequest{
		ID: "req_1", Agent: "claude", SessionID: "ses_1", Target: "app-db", Class: "customer-data", Kind: "sql",
		Command: "DELETE FROM inactive_users WHERE note = '<script>alert(1)</script> ``` <@here>'",
		State:   gateway.PendingReview, Decision: "review", RiskScore: 95, RiskLevel: "critical", EstimatedRows: &rows,
		ApprovalsRequired: 1, Approvals: []string{}, ExpiresAt: time.Now().Add(15 * time.Minute)}}
}

// receiver is a local webhook endpoint that hands each delivery to the
// test, answering with the statuses given in turn (then 200).
func receiver(t *testing.T, statuses ...int) (url string, got <-chan delivery, hits *atomic.Int32) {
	t.Helper()
	ch := make(chan delivery, 16)
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		i := int(n.Add(1)) - 1
		status := http.StatusOK
		if i < len(statuses) {
			status = statuses[i]
		}
		w.WriteHeader(status)
		if status == http.StatusOK {
			ch <- delivery{body: body, sig: r.Header.Get(notify.SignatureHeader), ctype: r.Header.Get("Content-Type")}
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, ch, &n
}

type delivery struct {
	body       []byte
	sig, ctype string
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func wait[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatal("nothing arrived")
	}
	var zero T
	return zero
}

func TestSlackPayloadIsSignedAndInert(t *testing.T) {
	url, got, _ := receiver(t)
	n := notify.New([]notify.Webhook{{URL: url, Format: "slack", Secret: secret}}, notify.Options{}, quiet())
	defer n.Close(time.Second)
	n.Notify(notice(gateway.NoticeReviewNeeded))
	d := wait(t, got)
	if err := notify.Verify(secret, d.body, d.sig, time.Now(), 5*time.Minute); err != nil {
		t.Fatalf("signature: %v (%q)", err, d.sig)
	}
	if err := notify.Verify([]byte("another secret"), d.body, d.sig, time.Now(), 5*time.Minute); err == nil {
		t.Error("a signature verified with the wrong secret")
	}
	var p struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type     string          `json:"type"`
			Text     json.RawMessage `json:"text"`
			Elements []struct {
				Type string `json:"type"`
				URL  string `json:"url"`
			} `json:"elements"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(d.body, &p); err != nil || d.ctype != "application/json" {
		t.Fatalf("payload %s: %v", d.body, err)
	}
	if !strings.Contains(p.Text, "Review needed") || !strings.Contains(p.Text, "https://gatehouse.example/v1/requests/req_1") {
		t.Errorf("text %q", p.Text)
	}
	body := string(d.body)
	if strings.Contains(body, "<script>") || strings.Contains(body, "<@here>") || !strings.Contains(body, "&lt;script&gt;") {
		t.Errorf("the command is not escaped for Slack: %s", body)
	}
	if strings.Count(body, "```") != 2 {
		t.Errorf("the command's own ``` closes the code block: %s", body)
	}
	var button string
	for _, b := range p.Blocks {
		for _, e := range b.Elements {
			if e.Type == "button" {
				button = e.URL
			}
		}
	}
	if button != "https://gatehouse.example/v1/requests/req_1" {
		t.Errorf("no button to the request: %s", body)
	}
}

func TestJSONPayload(t *testing.T) {
	url, got, _ := receiver(t)
	n := notify.New([]notify.Webhook{{URL: url, Format: "json", Secret: secret}}, notify.Options{}, quiet())
	defer n.Close(time.Second)
	no := notice(gateway.NoticeDecided)
	no.Request.State, no.Request.Reason = gateway.Denied, "denied by alice — wrong table"
	n.Notify(no)
	d := wait(t, got)
	var p struct {
		Event   string                `json:"event"`
		Link    string                `json:"link"`
		Request gateway.NoticeRequest `json:"request"`
	}
	if err := json.Unmarshal(d.body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Event != "request.decided" || p.Request.ID != "req_1" || p.Request.State != gateway.Denied || p.Request.Reason != no.Request.Reason ||
		p.Request.Command != no.Request.Command || *p.Request.EstimatedRows != 12400 || p.Link == "" {
		t.Errorf("payload %s", d.body)
	}
	if err := notify.Verify(secret, d.body, d.sig, time.Now(), time.Minute); err != nil {
		t.Errorf("signature: %v", err)
	}
}

func TestRetriesWithBackoff(t *testing.T) {
	url, got, hits := receiver(t, http.StatusInternalServerError, http.StatusTooManyRequests)
	failed := make(chan error, 1)
	n := notify.New([]notify.Webhook{{URL: url, Format: "json"}}, notify.Options{Backoff: []time.Duration{time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond},
		OnFailure: func(_ gateway.Notice, _ string, err error) { failed <- err }}, quiet())
	defer n.Close(time.Second)
	n.Notify(notice(gateway.NoticeReviewNeeded))
	wait(t, got)
	if h := hits.Load(); h != 3 {
		t.Errorf("%d attempts, want 3 (500, 429, then 200)", h)
	}
	select {
	case err := <-failed:
		t.Errorf("reported as failed: %v", err)
	default:
	}
}

func TestFailuresAreReported(t *testing.T) {
	for _, tc := range []struct {
		name     string
		statuses []int
		attempts int32
	}{
		{"always 500: every retry, then reported", []int{500, 500, 500, 500}, 4},
		{"400: not retried", []int{400}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, _, hits := receiver(t, tc.statuses...)
			failed := make(chan error, 1)
			n := notify.New([]notify.Webhook{{URL: url + "/services/T0/B0/SECRETPART", Format: "slack"}}, notify.Options{
				Backoff: []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond},
				OnFailure: func(_ gateway.Notice, u string, err error) {
					if strings.Contains(u, "SECRETPART") {
						err = errors.New("the reported URL holds the secret path: " + u)
					}
					failed <- err
				}}, quiet())
			defer n.Close(time.Second)
			n.Notify(notice(gateway.NoticeReviewNeeded))
			err := wait(t, failed)
			if err == nil || strings.Contains(err.Error(), "secret path") || !strings.Contains(err.Error(), "webhook answered") {
				t.Errorf("failure %v", err)
			}
			if h := hits.Load(); h != tc.attempts {
				t.Errorf("%d attempts, want %d", h, tc.attempts)
			}
		})
	}
}

func TestVerifyRejectsReplays(t *testing.T) {
	body := []byte(`{"event":"review.needed"}`)
	old := notify.Sign(secret, body, time.Now().Add(-time.Hour))
	if err := notify.Verify(secret, body, old, time.Now(), 5*time.Minute); err == nil {
		t.Error("an hour-old signature verified")
	}
	fresh := notify.Sign(secret, body, time.Now())
	if err := notify.Verify(secret, []byte(`{"event":"request.decided"}`), fresh, time.Now(), 5*time.Minute); err == nil {
		t.Error("a signature verified another body")
	}
}

// TestNotifyAfterClose is a no-op, not a panic.
func TestNotifyAfterClose(t *testing.T) {
	url, _, hits := receiver(t)
	n := notify.New([]notify.Webhook{{URL: url}}, notify.Options{}, quiet())
	n.Close(time.Second)
	n.Notify(notice(gateway.NoticeReviewNeeded))
	if h := hits.Load(); h != 0 {
		t.Errorf("%d deliveries after Close", h)
	}
}
