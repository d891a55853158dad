package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/notify"
)

// TestNotifications: a review-needed notice when a request waits for
// review, a decided one with the reviewer's reason, and an undeliverable
// notice recorded in the audit trail.
func TestNotifications(t *testing.T) {
	got := make(chan map[string]any, 8)
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p map[string]any
		json.NewDecoder(r.Body).Decode(&p)
		got <- p
	}))
	defer ok.Close()
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
	defer broken.Close()
	var gw *gateway.Service
	failed := make(chan struct{}, 8)
	n := notify.New([]notify.Webhook{{URL: ok.URL, Format: "json"}, {URL: broken.URL, Format: "json"}},
		notify.Options{Backoff: []time.Duration{time.Millisecond}, OnFailure: func(no gateway.Notice, url string, err error) {
			gw.NotifyFailed(no, url, err)
			failed <- struct{}{}
		}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer n.Close(time.Second)
	e := newEnv(t, func(c *gateway.Config, st gateway.Store) gateway.Store {
		c.Notifier, c.LinkBase = n, "https://gatehouse.example"
		return st
	})
	gw = e.gw
	agent, _ := e.agent(t, "work:write")
	r := e.submit(t, agent, "work", "rm -rf build")
	next := func() map[string]any {
		select {
		case p := <-got:
			return p
		case <-time.After(30 * time.Second):
			t.Fatal("no notification")
		}
		return nil
	}
	p := next()
	req := p["request"].(map[string]any)
	if p["event"] != "review.needed" || req["id"] != r.ID || p["link"] != "https://gatehouse.example/v1/requests/"+r.ID {
		t.Errorf("first notice %v", p)
	}
	if _, err := e.gw.Vote(context.Background(), e.alice, r.ID, gateway.VoteArgs{Reason: "not now"}); err != nil {
		t.Fatal(err)
	}
	p = next()
	req = p["request"].(map[string]any)
	if p["event"] != "request.decided" || req["state"] != "denied" || !strings.Contains(req["reason"].(string), "not now") {
		t.Errorf("second notice %v", p)
	}
	for range 2 {
		select {
		case <-failed:
		case <-time.After(30 * time.Second):
			t.Fatal("the broken webhook was not reported")
		}
	}
	var errs []string
	for _, ev := range e.events(t, audit.Filter{RequestID: r.ID, Type: audit.GatewayError}) {
		errs = append(errs, string(ev.Data))
	}
	if len(errs) != 2 || !strings.Contains(errs[0], "notification not delivered") || !strings.Contains(errs[0], "502") {
		t.Errorf("audited failures %v", errs)
	}
}
