// Package client is the Go client of the Gatehouse HTTP API (SPEC §6).
// The gatehouse CLI is built on it, and so can agents, hooks and tools
// that embed Gatehouse.
//
//	c := client.New("http://127.0.0.1:8700", os.Getenv("GATEHOUSE_TOKEN"))
//	r, err := c.Submit(ctx, client.Submit{Target: "app-db", Command: "DELETE FROM t WHERE id = 1"})
//	if err == nil && !r.Done() {
//		r, err = c.Wait(ctx, r.ID, 0)
//	}
package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultAddr is where the gateway listens unless told otherwise.
const DefaultAddr = "http://127.0.0.1:8700"

// Client talks to one gateway with one token.
type Client struct {
	Addr  string
	Token string
	HTTP  *http.Client
}

// New returns a client; an empty addr is [DefaultAddr].
func New(addr, token string) *Client {
	if addr == "" {
		addr = DefaultAddr
	}
	return &Client{Addr: strings.TrimRight(addr, "/"), Token: token, HTTP: &http.Client{}}
}

// Error is an error answer from the gateway.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Addr+path, rd)
	if err != nil {
		return fmt.Errorf("gateway request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("reach gateway at %s: %w", c.Addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var eb ErrorBody
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(data, &eb) != nil || eb.Error == "" {
			eb.Error = fmt.Sprintf("gateway answered %s", resp.Status)
		}
		return &Error{Status: resp.StatusCode, Code: eb.Code, Message: eb.Error}
	}
	if out == nil {
		return nil
	}
	if w, ok := out.(io.Writer); ok {
		_, err = io.Copy(w, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode gateway answer: %w", err)
	}
	return nil
}

// Whoami says what the client's token is.
func (c *Client) Whoami(ctx context.Context) (*Whoami, error) {
	var w Whoami
	return &w, c.do(ctx, http.MethodGet, "/v1/whoami", nil, &w)
}

// StartSession starts an agent session (admin token).
func (c *Client) StartSession(ctx context.Context, s StartSession) (*Session, error) {
	var out Session
	return &out, c.do(ctx, http.MethodPost, "/v1/sessions", s, &out)
}

// EndSession ends a session and revokes what it holds (admin token).
func (c *Client) EndSession(ctx context.Context, id string) (*Session, error) {
	var out Session
	return &out, c.do(ctx, http.MethodPost, "/v1/sessions/"+url.PathEscape(id)+"/end", struct{}{}, &out)
}

// Submit submits a request (session token); the answer carries the
// decision at once.
func (c *Client) Submit(ctx context.Context, s Submit) (*Request, error) {
	var out Request
	return &out, c.do(ctx, http.MethodPost, "/v1/requests", s, &out)
}

// Request returns a request as it is now.
func (c *Client) Request(ctx context.Context, id string) (*Request, error) {
	var out Request
	return &out, c.do(ctx, http.MethodGet, "/v1/requests/"+url.PathEscape(id), nil, &out)
}

// Wait returns the request once it is done ([Request.Done]) or ctx ends;
// each call to the server long-polls, and a timeout of 0 waits until ctx
// ends.
func (c *Client) Wait(ctx context.Context, id string, timeout time.Duration) (*Request, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	for {
		wait := 50 * time.Second
		if dl, ok := ctx.Deadline(); ok {
			wait = min(wait, time.Until(dl))
		}
		if wait <= 0 {
			return nil, context.DeadlineExceeded
		}
		var out Request
		path := "/v1/requests/" + url.PathEscape(id) + "?wait=" + url.QueryEscape(wait.Round(time.Millisecond).String())
		if err := c.do(ctx, http.MethodGet, path, nil, &out); err != nil {
			return nil, err
		}
		if out.Done() {
			return &out, nil
		}
		if err := ctx.Err(); err != nil {
			return &out, err
		}
	}
}

// Pending lists the requests waiting for review (reviewer token).
func (c *Client) Pending(ctx context.Context) ([]Request, error) {
	var out struct {
		Requests []Request `json:"requests"`
	}
	return out.Requests, c.do(ctx, http.MethodGet, "/v1/requests?state=pending_review", nil, &out)
}

// Approve approves a request (reviewer token).
func (c *Client) Approve(ctx context.Context, id string, v VoteBody) (*Request, error) {
	var out Request
	return &out, c.do(ctx, http.MethodPost, "/v1/requests/"+url.PathEscape(id)+"/approve", v, &out)
}

// Deny denies a request with a reason (reviewer token).
func (c *Client) Deny(ctx context.Context, id string, v VoteBody) (*Request, error) {
	var out Request
	return &out, c.do(ctx, http.MethodPost, "/v1/requests/"+url.PathEscape(id)+"/deny", v, &out)
}

// Report reports the outcome of an approved request run by the caller
// (authorize mode).
func (c *Client) Report(ctx context.Context, id string, o Outcome) (*Request, error) {
	var out Request
	return &out, c.do(ctx, http.MethodPost, "/v1/requests/"+url.PathEscape(id)+"/outcome", o, &out)
}

// AuditFilter selects audit events.
type AuditFilter struct {
	SessionID, RequestID, Type string
	Since                      time.Time
}

func (f AuditFilter) query() string {
	q := url.Values{}
	if f.SessionID != "" {
		q.Set("session", f.SessionID)
	}
	if f.RequestID != "" {
		q.Set("request", f.RequestID)
	}
	if f.Type != "" {
		q.Set("type", f.Type)
	}
	if !f.Since.IsZero() {
		q.Set("since", f.Since.UTC().Format(time.RFC3339Nano))
	}
	return q.Encode()
}

// Events calls fn for each audit event matching f, oldest first (admin
// token).
func (c *Client) Events(ctx context.Context, f AuditFilter, fn func(*Event) error) error {
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		err := c.do(ctx, http.MethodGet, "/v1/audit/events?"+f.query(), nil, pw)
		pw.CloseWithError(err)
		errc <- err
	}()
	sc := bufio.NewScanner(pr)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		var e Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			pr.CloseWithError(err)
			<-errc
			return fmt.Errorf("decode audit event: %w", err)
		}
		if err := fn(&e); err != nil {
			pr.CloseWithError(err)
			<-errc
			return err
		}
	}
	if err := sc.Err(); err != nil {
		<-errc
		return err
	}
	return <-errc
}

// Export writes the whole trail as JSON lines to w (admin token).
func (c *Client) Export(ctx context.Context, w io.Writer) error {
	return c.do(ctx, http.MethodGet, "/v1/audit/events", nil, w)
}

// Verify asks the gateway to verify the trail's hash chain (admin token);
// heads are "SEQ:HASH" values printed by earlier verifications, which
// must still be on the chain.
func (c *Client) Verify(ctx context.Context, heads ...string) (*Verification, error) {
	var out Verification
	q := url.Values{"head": heads}
	return &out, c.do(ctx, http.MethodGet, "/v1/audit/verify?"+q.Encode(), nil, &out)
}
