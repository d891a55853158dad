package gateway

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/analysis"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/engine"
	"github.com/gatehouse/gatehouse/internal/execute"
	"github.com/gatehouse/gatehouse/internal/policy"
	"github.com/gatehouse/gatehouse/internal/risk"
)

// SubmitArgs are what an agent submits.
type SubmitArgs struct {
	Target  string
	Kind    string // shell, sql or http; empty: the target's
	Command string
	Mode    Mode // empty: execute
}

// MaxReasonBytes caps a reviewer's reason.
const MaxReasonBytes = 4096

// kindFor is the request kind a target's kind takes.
func kindFor(targetKind string) string {
	switch targetKind {
	case "postgres":
		return "sql"
	case "http":
		return "http"
	}
	return "shell"
}

// Submit decides a request, records it with its decision and, when it is
// allowed in execute mode, starts running it. It returns at once; Wait
// follows the request to its end.
func (s *Service) Submit(ctx context.Context, p *Principal, a SubmitArgs) (*Request, error) {
	if err := require(p, RoleAgent); err != nil {
		return nil, err
	}
	sess := p.Session
	t, ok := s.cfg.Targets[a.Target]
	if !ok {
		return nil, fmt.Errorf("%w: no target named %q (targets: %s)", ErrInvalid, a.Target, strings.Join(s.targetNames(), ", "))
	}
	kind := a.Kind
	if kind == "" {
		kind = kindFor(t.Kind)
	}
	if kind != kindFor(t.Kind) {
		return nil, fmt.Errorf("%w: target %s is a %s target; submit kind %s (got %q)", ErrInvalid, t.Name, t.Kind, kindFor(t.Kind), a.Kind)
	}
	if kind == "http" {
		return nil, fmt.Errorf("%w: http targets are not supported yet", ErrInvalid)
	}
	mode := a.Mode
	if mode == "" {
		mode = Execute
	}
	if mode != Execute && mode != Authorize {
		return nil, fmt.Errorf("%w: mode %q: want execute or authorize", ErrInvalid, a.Mode)
	}
	d, err := s.engine.Decide(ctx, engine.Request{Kind: kind, Command: a.Command, Target: t.Name, Agent: sess.Agent})
	if err != nil {
		if errors.Is(err, engine.ErrUnknownTarget) {
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	grant, granted := grantFor(sess, t.Name)
	switch {
	case !granted:
		overrule(d, "session-grants", fmt.Sprintf("target %s is not granted to this session (grants: %s)", t.Name, strings.Join(grantStrings(sess.Grants), ", ")))
	case grant.Access == Read && !readOnly(d):
		overrule(d, "session-grants", fmt.Sprintf("this session may only read %s, and this command does more than read", t.Name))
	case d.Decision != policy.Deny && t.Executor != nil:
		if est := t.Executor.Estimate(ctx, a.Command, d); est.Attempted {
			if est.Rows != nil || est.Files == nil {
				// Decide again with the estimate: the score, and rules
				// on impact.estimated_rows, depend on it.
				again, err := s.engine.Decide(ctx, engine.Request{Kind: kind, Command: a.Command, Target: t.Name, Agent: sess.Agent,
					Impact: &risk.Impact{EstimatedRows: est.Rows, Estimated: true}})
				if err != nil {
					return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
				}
				d = again
			}
			d.Impact.EstimatedFiles, d.Impact.Exact, d.Impact.EstimateNote = est.Files, est.Exact, est.Note
		}
	}
	if d.Decision == policy.Review {
		// Each pending review costs reviewers' attention and the
		// gateway's memory; an agent flooding the queue is stopped. The
		// count and the create are one step per session in this gateway
		// (replicas sharing a store can each admit up to the cap).
		mu := &s.pendingLocks[fnv32(sess.ID)%uint32(len(s.pendingLocks))]
		mu.Lock()
		defer mu.Unlock()
		pending, err := s.store.Summaries(ctx, RequestFilter{State: PendingReview, SessionID: sess.ID, Limit: s.cfg.MaxPending})
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		if len(pending) >= s.cfg.MaxPending {
			return nil, fmt.Errorf("%w: this session already has %d requests waiting for review; wait for their decisions", ErrTooMany, len(pending))
		}
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	r := &Request{ID: newID("req_"), SessionID: sess.ID, Agent: sess.Agent, Target: t.Name, Kind: kind, Command: a.Command,
		CommandHash: CommandHash(kind, t.Name, a.Command), Mode: mode, Decision: *d, Votes: []Vote{},
		CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(s.cfg.ReviewExpiry)}
	switch d.Decision {
	case policy.Allow:
		r.State, r.Reason = Approved, "allowed by policy (rule "+d.Rule+")"
	case policy.Review:
		r.State = PendingReview
		r.Decision.ApprovalsRequired = max(1, d.ApprovalsRequired)
	default:
		r.State, r.Reason = Denied, "denied by policy: "+firstReason(d)
	}
	submitted, err := audit.New(audit.RequestSubmitted, p.Actor(), map[string]any{
		"target": r.Target, "kind": r.Kind, "mode": r.Mode, "command": r.Command, "command_hash": r.CommandHash})
	if err != nil {
		return nil, err
	}
	decided, err := audit.New(audit.RequestDecided, "gateway", decidedData(r))
	if err != nil {
		return nil, err
	}
	submitted.Time, decided.Time = now, now
	// Audit before act: nothing runs unless this commit succeeded.
	if err := s.store.CreateRequest(ctx, r, []audit.Event{submitted, decided}); err != nil {
		if errors.Is(err, ErrConflict) {
			s.sessions.drop(sess.ID)
			return nil, fmt.Errorf("%w (%w)", ErrUnauthorized, err)
		}
		return nil, fmt.Errorf("%w: record request: %w", ErrUnavailable, err)
	}
	s.log.Info("request decided", "request", r.ID, "session", r.SessionID, "agent", r.Agent, "target", r.Target, "kind", r.Kind,
		"decision", string(d.Decision), "rule", d.Rule, "risk_score", d.RiskScore, "state", string(r.State))
	switch {
	case r.State == Approved && r.Mode == Execute:
		s.startRun(r.ID)
	case r.State == PendingReview:
		select {
		case s.wake <- struct{}{}:
		default:
		}
		s.notify(NoticeReviewNeeded, r)
	}
	return r, nil
}

func fnv32(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

func decidedData(r *Request) map[string]any {
	d := &r.Decision
	return map[string]any{"decision": d.Decision, "state": r.State, "risk_score": d.RiskScore, "risk_level": d.RiskLevel,
		"rule": d.Rule, "reasons": d.Reasons, "approvals_required": d.ApprovalsRequired, "policy": d.Policy,
		"policy_hash": d.PolicyHash, "impact": d.Impact, "class": d.Class}
}

func firstReason(d *engine.Decision) string {
	if len(d.Reasons) > 0 {
		return d.Reasons[0].Text
	}
	return d.Summary
}

// overrule makes a decision a denial by the session's grants.
func overrule(d *engine.Decision, rule, why string) {
	d.Decision, d.Rule, d.ApprovalsRequired = policy.Deny, rule, 0
	d.Reasons = append([]risk.Factor{{Name: "grant", Text: why}}, d.Reasons...)
}

func grantFor(sess *Session, target string) (Grant, bool) {
	best, ok := Grant{}, false
	for _, g := range sess.Grants {
		if g.Target == target && (!ok || rank(g.Access) > rank(best.Access)) {
			best, ok = g, true
		}
	}
	return best, ok
}

func rank(a Access) int {
	switch a {
	case Read:
		return 1
	case Write:
		return 2
	case Admin:
		return 3
	}
	return 0
}

// readOnly reports whether every command of a decision only reads.
func readOnly(d *engine.Decision) bool {
	for i := range d.Commands {
		e := d.Commands[i].Effects
		if !e.Has(analysis.Read) || e != analysis.Effects(analysis.Read) {
			return false
		}
	}
	return true
}

// Request returns a request: agents see their session's, reviewers and
// admins any.
func (s *Service) Request(ctx context.Context, p *Principal, id string) (*Request, error) {
	if err := require(p, RoleAgent, RoleReviewer, RoleAdmin); err != nil {
		return nil, err
	}
	r, err := s.store.Request(ctx, id)
	if errors.Is(err, ErrNotFound) || (err == nil && p.Role == RoleAgent && r.SessionID != p.Session.ID) {
		return nil, fmt.Errorf("%w: no request %q", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return r, nil
}

// MaxListed caps one listing of pending requests.
const MaxListed = 500

// Pending lists the requests waiting for review, oldest first, at most
// limit (0 or more than MaxListed: MaxListed).
func (s *Service) Pending(ctx context.Context, p *Principal, limit int) ([]*Request, error) {
	if err := require(p, RoleReviewer, RoleAdmin); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > MaxListed {
		limit = MaxListed
	}
	rs, err := s.store.Requests(ctx, RequestFilter{State: PendingReview, Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return rs, nil
}

// VoteArgs are a reviewer's decision.
type VoteArgs struct {
	Approve bool
	Reason  string
	// CommandHash, when set, is the command the reviewer saw; the vote is
	// refused if the request's command is not that one.
	CommandHash string
}

// Vote records a reviewer's approval or denial. A denial ends the
// request; approvals from enough distinct reviewers approve it, and in
// execute mode start it.
func (s *Service) Vote(ctx context.Context, p *Principal, id string, a VoteArgs) (*Request, error) {
	if err := require(p, RoleReviewer); err != nil {
		return nil, err
	}
	reason := strings.TrimSpace(a.Reason)
	switch {
	case !a.Approve && reason == "":
		return nil, fmt.Errorf("%w: a denial needs a reason, so the agent can correct itself", ErrInvalid)
	case len(reason) > MaxReasonBytes:
		return nil, fmt.Errorf("%w: reason longer than %d bytes", ErrInvalid, MaxReasonBytes)
	case !utf8.ValidString(reason) || strings.ContainsRune(reason, 0):
		return nil, fmt.Errorf("%w: reason is not valid UTF-8 text", ErrInvalid)
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	var expired bool
	r, err := s.store.UpdateRequest(ctx, id, func(r *Request) ([]audit.Event, error) {
		if r.State != PendingReview {
			return nil, fmt.Errorf("%w: request %s is %s, not pending review", ErrConflict, r.ID, r.State)
		}
		if a.CommandHash != "" && a.CommandHash != r.CommandHash {
			return nil, fmt.Errorf("%w: the request's command is not the one reviewed (hash mismatch)", ErrConflict)
		}
		if !now.Before(r.ExpiresAt) {
			expired = true
			return expire(r, now)
		}
		for _, v := range r.Votes {
			if v.Reviewer == p.Name {
				return nil, fmt.Errorf("%w: %s has already voted on request %s; a quorum needs distinct reviewers", ErrConflict, p.Name, r.ID)
			}
		}
		v := Vote{Reviewer: p.Name, Approve: a.Approve, Reason: reason, CommandHash: r.CommandHash, At: now}
		r.Votes = append(r.Votes, v)
		r.UpdatedAt = now
		voted, err := audit.New(audit.ReviewVoted, p.Actor(), map[string]any{"approve": v.Approve, "reason": v.Reason,
			"command_hash": v.CommandHash, "approvals": len(r.Approvals()), "approvals_required": r.Decision.ApprovalsRequired})
		if err != nil {
			return nil, err
		}
		voted.Time = now
		evs := []audit.Event{voted}
		var end audit.Event
		switch {
		case !a.Approve:
			r.State, r.Reason = Denied, "denied by "+p.Name+" — "+reason
			end, err = audit.New(audit.RequestDenied, p.Actor(), map[string]any{"reason": reason, "reviewer": p.Name})
		case len(r.Approvals()) >= r.Decision.ApprovalsRequired:
			r.State, r.Reason = Approved, "approved by "+strings.Join(r.Approvals(), ", ")
			if reason != "" {
				r.Reason += " — " + reason
			}
			end, err = audit.New(audit.RequestApproved, p.Actor(), map[string]any{"approvers": r.Approvals(), "command_hash": r.CommandHash})
		default:
			return evs, nil
		}
		if err != nil {
			return nil, err
		}
		end.Time = now
		return append(evs, end), nil
	})
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: no request %q", ErrNotFound, id)
	}
	if errors.Is(err, ErrConflict) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("%w: record vote: %w", ErrUnavailable, err)
	}
	if expired {
		s.notify(NoticeDecided, r)
		return r, fmt.Errorf("%w: request %s was not decided before %s", ErrExpired, r.ID, r.ExpiresAt.Format(time.RFC3339))
	}
	s.log.Info("review voted", "request", r.ID, "reviewer", p.Name, "approve", a.Approve, "state", string(r.State))
	if r.State != PendingReview {
		s.notify(NoticeDecided, r)
	}
	if r.State == Approved && r.Mode == Execute {
		s.startRun(r.ID)
	}
	return r, nil
}

func expire(r *Request, now time.Time) ([]audit.Event, error) {
	r.State, r.UpdatedAt = Expired, now
	r.Reason = fmt.Sprintf("expired — no decision within %s", r.ExpiresAt.Sub(r.CreatedAt).Round(time.Second))
	ev, err := audit.New(audit.RequestExpired, "gateway", map[string]any{"reason": r.Reason, "approvals": r.Approvals()})
	ev.Time = now
	return []audit.Event{ev}, err
}

// finish moves a request from one state to an end state with a reason;
// ErrConflict if it is no longer in from.
func (s *Service) finish(ctx context.Context, id string, from, to State, actor, reason string) (*Request, error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	r, err := s.store.UpdateRequest(ctx, id, func(r *Request) ([]audit.Event, error) {
		if r.State != from {
			return nil, fmt.Errorf("%w: request %s is %s", ErrConflict, r.ID, r.State)
		}
		if to == Expired {
			return expire(r, now)
		}
		r.State, r.Reason, r.UpdatedAt = to, reason, now
		typ := audit.RequestDenied
		if to == Failed {
			typ = audit.RequestFailed
		}
		ev, err := audit.New(typ, actor, map[string]any{"reason": reason})
		ev.Time = now
		return []audit.Event{ev}, err
	})
	if err == nil && from == PendingReview {
		s.notify(NoticeDecided, r)
	}
	return r, err
}

// Outcome is what a caller in authorize mode reports after running an
// approved request.
type Outcome struct {
	ExitCode *int   `json:"exit_code"`
	Error    string `json:"error,omitempty"`
	Output   string `json:"output,omitempty"`
}

// Report records the outcome of an approved request the caller ran
// itself (authorize mode). An approval is reported once.
func (s *Service) Report(ctx context.Context, p *Principal, id string, o Outcome) (*Request, error) {
	if err := require(p, RoleAgent); err != nil {
		return nil, err
	}
	if len(o.Output) > 64<<10 {
		o.Output = strings.ToValidUTF8(o.Output[:64<<10], "") + "\n[output truncated]"
	}
	o.Output, o.Error = strings.ToValidUTF8(o.Output, "\uFFFD"), strings.ToValidUTF8(o.Error, "\uFFFD")
	now := s.now().UTC().Truncate(time.Microsecond)
	r, err := s.store.UpdateRequest(ctx, id, func(r *Request) ([]audit.Event, error) {
		if r.SessionID != p.Session.ID {
			return nil, fmt.Errorf("%w: no request %q", ErrNotFound, id)
		}
		if r.Mode != Authorize || r.State != Approved {
			return nil, fmt.Errorf("%w: request %s is %s in %s mode; only an approved request in authorize mode takes a report, once", ErrConflict, r.ID, r.State, r.Mode)
		}
		ok := o.Error == "" && (o.ExitCode == nil || *o.ExitCode == 0)
		r.State, r.UpdatedAt = Executed, now
		typ := audit.RequestExecuted
		if !ok {
			r.State, typ = Failed, audit.RequestFailed
		}
		res := resultFromOutcome(o)
		r.Result = res
		ev, err := audit.New(typ, p.Actor(), map[string]any{"reported": true, "exit_code": o.ExitCode, "error": o.Error, "output_bytes": len(o.Output)})
		ev.Time = now
		return []audit.Event{ev}, err
	})
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("%w: record outcome: %w", ErrUnavailable, err)
	}
	return r, nil
}

// Done reports whether a request has reached the end for whoever waits
// on it: a final state, or approved in authorize mode (the caller runs it).
func Done(r *Request) bool {
	return r.State.Final() || (r.State == Approved && r.Mode == Authorize)
}

// Wait returns the request once it is done (see [Done]), or as it is
// when timeout passes or ctx ends. It never polls: it wakes on the
// store's change notifications and at the review's expiry.
func (s *Service) Wait(ctx context.Context, p *Principal, id string, timeout time.Duration) (*Request, error) {
	if p != nil && p.Role == RoleAgent {
		// Each wait holds a connection and a goroutine for up to a minute.
		release, ok := s.waits.acquire(p.Session.ID)
		if !ok {
			return nil, fmt.Errorf("%w: this session already has %d waits open", ErrTooMany, maxWaitsPerSession)
		}
		defer release()
	}
	ch, unsubscribe := s.hub.subscribe(id)
	defer unsubscribe()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r, err := s.Request(ctx, p, id)
		if err != nil {
			return nil, err
		}
		if Done(r) {
			return r, nil
		}
		var expiry <-chan time.Time
		if r.State == PendingReview {
			expiry = time.After(r.ExpiresAt.Sub(s.now())) // collected once it fires or is dropped (Go 1.23+)
		}
		select {
		case <-ch:
		case <-expiry:
			if _, err := s.finish(ctx, id, PendingReview, Expired, "gateway", ""); err != nil && !errors.Is(err, ErrConflict) {
				return nil, fmt.Errorf("%w: expire request: %w", ErrUnavailable, err)
			}
		case <-deadline.C:
			return r, nil
		case <-ctx.Done():
			return r, ctx.Err()
		}
	}
}

// sweep keeps time for the requests nobody waits on: it expires pending
// reviews at their deadline, fails requests whose run outlived its
// deadline (the gateway running them stopped), and claims approved
// requests no gateway started (the one that approved them stopped
// first). It reads summaries, never request bodies.
func (s *Service) sweep(ctx context.Context) {
	defer s.running.Done()
	for {
		next := s.sweepOnce(ctx)
		t := time.NewTimer(next)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-s.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// orphanAfter is how long an approved request waits for the gateway that
// approved it before another claims it.
const orphanAfter = 10 * time.Second

// sweepOnce does one pass and says when the next is due.
func (s *Service) sweepOnce(ctx context.Context) time.Duration {
	next := time.Minute
	warn := func(what string, err error) {
		if err != nil && !errors.Is(err, ErrConflict) && ctx.Err() == nil {
			s.log.Warn(what, "error", err)
		}
	}
	now := s.now()
	pending, err := s.store.Summaries(ctx, RequestFilter{State: PendingReview})
	warn("list pending requests", err)
	for _, r := range pending {
		if !now.Before(r.ExpiresAt) {
			_, err := s.finish(ctx, r.ID, PendingReview, Expired, "gateway", "")
			warn("expire request", err)
			continue
		}
		next = min(next, r.ExpiresAt.Sub(now))
	}
	executing, err := s.store.Summaries(ctx, RequestFilter{State: Executing})
	warn("list executing requests", err)
	for _, r := range executing {
		if r.RunDeadline.IsZero() || now.Before(r.RunDeadline) {
			if !r.RunDeadline.IsZero() {
				next = min(next, r.RunDeadline.Sub(now))
			}
			continue
		}
		_, err := s.finish(ctx, r.ID, Executing, Failed, "gateway", "the gateway running this stopped before it finished; its outcome is unknown and it is not run again")
		warn("fail abandoned run", err)
	}
	approved, err := s.store.Summaries(ctx, RequestFilter{State: Approved})
	warn("list approved requests", err)
	for _, r := range approved {
		if r.Mode != Execute {
			continue
		}
		if age := now.Sub(r.UpdatedAt); age < orphanAfter {
			next = min(next, orphanAfter-age)
			continue
		}
		s.startRun(r.ID) // the claim is single-use: only one gateway runs it
	}
	return max(next, 10*time.Millisecond)
}

func resultFromOutcome(o Outcome) *execute.Result {
	return &execute.Result{ExitCode: o.ExitCode, Output: o.Output, Error: o.Error}
}
