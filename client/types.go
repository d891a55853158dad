package client

import (
	"encoding/json"
	"time"
)

// Session is an agent session. Token is set only in the answer to
// [Client.StartSession]: the gateway keeps only its hash.
type Session struct {
	ID        string     `json:"id"`
	Agent     string     `json:"agent"`
	Grants    []string   `json:"grants"`
	Token     string     `json:"token,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
}

// StartSession is the body of POST /v1/sessions.
type StartSession struct {
	Agent  string   `json:"agent"`
	Grants []string `json:"grants"`        // TARGET:ACCESS
	TTL    string   `json:"ttl,omitempty"` // a Go duration; empty: the server's default
}

// Submit is the body of POST /v1/requests.
type Submit struct {
	Target  string `json:"target"`
	Kind    string `json:"kind,omitempty"` // shell or sql; empty: the target's
	Command string `json:"command"`
	Mode    string `json:"mode,omitempty"` // execute (default) or authorize
}

// Factor is one reason of a decision, with its points.
type Factor struct {
	Factor string `json:"factor"`
	Points int    `json:"points"`
	Text   string `json:"text"`
}

// Vote is one reviewer's decision.
type Vote struct {
	Reviewer string    `json:"reviewer"`
	Approve  bool      `json:"approve"`
	Reason   string    `json:"reason,omitempty"`
	At       time.Time `json:"at"`
}

// Result is what running a request produced.
type Result struct {
	ExitCode     *int   `json:"exit_code,omitempty"`
	Output       string `json:"output"`
	Truncated    bool   `json:"truncated,omitempty"`
	RowsAffected *int64 `json:"rows_affected,omitempty"`
	Error        string `json:"error,omitempty"`
	DurationMS   int64  `json:"duration_ms"`
}

// Request is a submitted request as the API shows it.
type Request struct {
	ID                string          `json:"id"`
	SessionID         string          `json:"session_id"`
	Agent             string          `json:"agent"`
	Target            string          `json:"target"`
	Kind              string          `json:"kind"`
	Command           string          `json:"command"`
	CommandHash       string          `json:"command_hash"`
	Mode              string          `json:"mode"`
	State             string          `json:"state"` // pending_review, approved, denied, expired, executing, executed, failed
	Decision          string          `json:"decision"`
	RiskScore         int             `json:"risk_score"`
	RiskLevel         string          `json:"risk_level"`
	Reasons           []Factor        `json:"reasons"`
	Rule              string          `json:"rule"`
	Class             string          `json:"class"`
	EstimatedRows     *int64          `json:"estimated_rows"` // null: unknown
	EstimatedFiles    *int64          `json:"estimated_files,omitempty"`
	Reversible        *bool           `json:"reversible"`
	Impact            json.RawMessage `json:"impact,omitempty"`
	ApprovalsRequired int             `json:"approvals_required"`
	Approvals         []string        `json:"approvals"`
	Votes             []Vote          `json:"votes"`
	Reason            string          `json:"reason,omitempty"`
	Result            *Result         `json:"result,omitempty"`
	PolicyHash        string          `json:"policy_hash"`
	Analysis          json.RawMessage `json:"analysis,omitempty"` // every command that would run, as analyzed; on GET of one request
	CreatedAt         time.Time       `json:"created_at"`
	ExpiresAt         time.Time       `json:"expires_at"`
	UpdatedAt         time.Time       `json:"updated_at"`
}

// Done reports whether nothing more will happen that the submitter waits
// for: a final state, or approved in authorize mode.
func (r *Request) Done() bool {
	switch r.State {
	case "denied", "expired", "executed", "failed":
		return true
	}
	return r.State == "approved" && r.Mode == "authorize"
}

// VoteBody is the body of POST /v1/requests/{id}/approve and /deny.
type VoteBody struct {
	Reason      string `json:"reason,omitempty"`
	CommandHash string `json:"command_hash,omitempty"` // the command reviewed; the vote is refused if it changed
}

// Outcome is the body of POST /v1/requests/{id}/outcome (authorize mode).
type Outcome struct {
	ExitCode *int   `json:"exit_code"`
	Error    string `json:"error,omitempty"`
	Output   string `json:"output,omitempty"`
}

// Event is one audit event.
type Event struct {
	Seq        int64           `json:"seq"`
	Time       time.Time       `json:"time"`
	Type       string          `json:"type"`
	SessionID  string          `json:"session_id,omitempty"`
	SessionSeq int64           `json:"session_seq,omitempty"`
	RequestID  string          `json:"request_id,omitempty"`
	Actor      string          `json:"actor"`
	Data       json.RawMessage `json:"data"`
	PrevHash   string          `json:"prev_hash"`
	Hash       string          `json:"hash"`
}

// Verification is the answer of GET /v1/audit/verify.
type Verification struct {
	OK       bool   `json:"ok"`
	Events   int64  `json:"events"`
	HeadSeq  int64  `json:"head_seq"`
	HeadHash string `json:"head_hash"`
	BadSeq   int64  `json:"bad_seq,omitempty"` // the first bad event
	Error    string `json:"error,omitempty"`
}

// Whoami is the answer of GET /v1/whoami.
type Whoami struct {
	Role      string `json:"role"` // agent, reviewer or admin
	Name      string `json:"name"`
	SessionID string `json:"session_id,omitempty"`
}

// ErrorBody is every error answer.
type ErrorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"` // invalid_request, unauthorized, forbidden, not_found, conflict, expired, too_many, unavailable, internal
}
