package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/engine"
	"github.com/gatehouse/gatehouse/internal/execute"
)

// Access is what a grant lets a session do on a target.
type Access string

// Accesses, in increasing power.
const (
	Read  Access = "read"
	Write Access = "write"
	Admin Access = "admin"
)

// Grant lets a session act on one target.
type Grant struct {
	Target string `json:"target"`
	Access Access `json:"access"`
}

func (g Grant) String() string { return g.Target + ":" + string(g.Access) }

// Session is one agent run.
type Session struct {
	ID        string     `json:"id"`
	Agent     string     `json:"agent"`
	Grants    []Grant    `json:"grants"`
	TokenHash string     `json:"-"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
	// Seq is the number of audit events recorded for the session so far;
	// stores use it to number the next one.
	Seq int64 `json:"-"`
}

// Active reports whether the session can still submit at now.
func (s *Session) Active(now time.Time) bool { return s.EndedAt == nil && now.Before(s.ExpiresAt) }

// State is where a request is in its lifecycle (SPEC §2).
type State string

// Request states.
const (
	PendingReview State = "pending_review"
	Approved      State = "approved"
	Denied        State = "denied"
	Expired       State = "expired"
	Executing     State = "executing"
	Executed      State = "executed"
	Failed        State = "failed"
)

// Final reports whether nothing more will happen to a request in state s.
// An approved request in authorize mode is final for the agent: the
// caller runs it and may report the outcome.
func (s State) Final() bool {
	switch s {
	case Denied, Expired, Executed, Failed:
		return true
	}
	return false
}

// Mode is who runs an approved request.
type Mode string

// Modes.
const (
	Execute   Mode = "execute"   // the gateway runs it with the credentials it holds
	Authorize Mode = "authorize" // the caller runs it and reports the outcome
)

// Vote is one reviewer's decision on a request.
type Vote struct {
	Reviewer    string    `json:"reviewer"`
	Approve     bool      `json:"approve"`
	Reason      string    `json:"reason,omitempty"`
	CommandHash string    `json:"command_hash"` // the command the vote is for
	At          time.Time `json:"at"`
}

// Request is one action an agent submitted.
type Request struct {
	ID          string          `json:"id"`
	SessionID   string          `json:"session_id"`
	Agent       string          `json:"agent"`
	Target      string          `json:"target"`
	Kind        string          `json:"kind"`
	Command     string          `json:"command"`
	CommandHash string          `json:"command_hash"`
	Mode        Mode            `json:"mode"`
	State       State           `json:"state"`
	Decision    engine.Decision `json:"decision"`
	Votes       []Vote          `json:"votes"`
	Reason      string          `json:"reason,omitempty"` // why it ended as it did: the deciding rule, the reviewer's words, the failure
	Result      *execute.Result `json:"result,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`
	ExpiresAt   time.Time       `json:"expires_at"` // a pending review not decided by then is expired
	UpdatedAt   time.Time       `json:"updated_at"`
	// RunDeadline is set by the claim: the run ends by then (the
	// executor's timeout and a margin), so a request still executing
	// after it was left by a gateway that stopped.
	RunDeadline time.Time `json:"run_deadline,omitzero"`
}

// RequestSummary is what listings and the sweeper read of a request,
// without its body.
type RequestSummary struct {
	ID, SessionID string
	State         State
	Mode          Mode
	CreatedAt     time.Time
	UpdatedAt     time.Time
	ExpiresAt     time.Time
	RunDeadline   time.Time
}

// Approvals lists the reviewers who approved, in order.
func (r *Request) Approvals() []string {
	names := []string{}
	for _, v := range r.Votes {
		if v.Approve {
			names = append(names, v.Reviewer)
		}
	}
	return names
}

// CommandHash is the hash an approval binds to: the kind, the target and
// the exact command text that will run.
func CommandHash(kind, target, command string) string {
	h := sha256.New()
	for _, s := range []string{kind, target, command} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// RequestFilter selects requests; zero fields match everything.
type RequestFilter struct {
	State     State
	SessionID string
	Limit     int
}

// Errors of the store contract.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict") // an update's precondition no longer holds
)

// Store keeps sessions, requests and the audit trail. Every method that
// changes state appends its audit events in the same transaction, so a
// change is never visible without its events, and an event never without
// its change. Implementations: internal/store over SQLite and PostgreSQL.
type Store interface {
	// CreateSession stores a new session and appends ev (its session
	// numbering is set by the store).
	CreateSession(ctx context.Context, s *Session, ev audit.Event) error
	// SessionByID and SessionByToken return ErrNotFound for no such session.
	SessionByID(ctx context.Context, id string) (*Session, error)
	SessionByToken(ctx context.Context, tokenHash string) (*Session, error)
	// UpdateSession runs fn on the session inside a transaction; fn may
	// change EndedAt and returns the events to append. An error from fn
	// is returned as is and nothing is written. ErrNotFound for no such
	// session.
	UpdateSession(ctx context.Context, id string, fn func(*Session) ([]audit.Event, error)) (*Session, error)

	// CreateRequest stores a new request and appends evs (events of its
	// session are numbered by the store). ErrConflict when the request's
	// session does not exist, has ended or had expired at r.CreatedAt,
	// checked in the same transaction.
	CreateRequest(ctx context.Context, r *Request, evs []audit.Event) error
	// Request returns ErrNotFound for no such request.
	Request(ctx context.Context, id string) (*Request, error)
	// Requests lists requests, oldest first.
	Requests(ctx context.Context, f RequestFilter) ([]*Request, error)
	// Summaries lists requests like Requests, without reading their
	// bodies.
	Summaries(ctx context.Context, f RequestFilter) ([]RequestSummary, error)
	// UpdateRequest runs fn on the request inside a transaction that holds
	// it against concurrent updates, from this process or another replica;
	// fn changes the request and returns the events to append. An error
	// from fn is returned as is and nothing is written. ErrNotFound for no
	// such request. Watchers are told after the commit.
	//
	// Callbacks run on the store's writer, may run more than once (a
	// failed batch is retried one write at a time) and must be quick and
	// free of side effects beyond the request they are given.
	UpdateRequest(ctx context.Context, id string, fn func(*Request) ([]audit.Event, error)) (*Request, error)

	// Append appends events that change no state (errors).
	Append(ctx context.Context, evs ...audit.Event) error
	// Events calls fn for each event matching f, oldest first; an error
	// from fn stops the iteration and is returned.
	Events(ctx context.Context, f audit.Filter, fn func(*audit.Event) error) error
	// Head returns the end of the chain as recorded with the last append.
	Head(ctx context.Context) (audit.Head, error)

	// Watch calls fn with the id of every session updated and every
	// request created or updated, in this process or another replica
	// sharing the store, until ctx is done;
	// an empty id means anything may have changed (notifications were
	// lost). fn must not block: it runs on the store's writer or listener.
	// Watch returns once watching has started.
	Watch(ctx context.Context, fn func(id string)) error
	Close() error
}

// Notice events.
const (
	NoticeReviewNeeded = "review.needed"
	NoticeDecided      = "request.decided"
)

// Notice tells people outside the gateway (reviewers' chat, a pager) that a
// request needs review or was decided.
type Notice struct {
	Event   string        // NoticeReviewNeeded or NoticeDecided
	Link    string        // where a reviewer opens the request
	Request NoticeRequest // what the notice shows
}

// NoticeRequest is what a notice shows of a request: never the session's
// token or anything secret.
type NoticeRequest struct {
	ID                string    `json:"id"`
	Agent             string    `json:"agent"`
	SessionID         string    `json:"session_id"`
	Target            string    `json:"target"`
	Class             string    `json:"class"`
	Kind              string    `json:"kind"`
	Command           string    `json:"command"`
	State             State     `json:"state"`
	Decision          string    `json:"decision"`
	RiskScore         int       `json:"risk_score"`
	RiskLevel         string    `json:"risk_level"`
	EstimatedRows     *int64    `json:"estimated_rows"`
	ApprovalsRequired int       `json:"approvals_required"`
	Approvals         []string  `json:"approvals"`
	Reason            string    `json:"reason,omitempty"`
	ExpiresAt         time.Time `json:"expires_at"`
}

// Notifier sends notices; it must not block.
type Notifier interface {
	Notify(Notice)
}
