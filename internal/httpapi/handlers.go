package httpapi

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/client"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/gateway"
)

func errorID() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Server) whoami(w http.ResponseWriter, r *http.Request, p *gateway.Principal) error {
	out := client.Whoami{Role: p.Role.String(), Name: p.Name}
	if p.Session != nil {
		out.SessionID = p.Session.ID
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func sessionView(sess *gateway.Session) client.Session {
	out := client.Session{ID: sess.ID, Agent: sess.Agent, Grants: []string{}, CreatedAt: sess.CreatedAt, ExpiresAt: sess.ExpiresAt, EndedAt: sess.EndedAt}
	for _, g := range sess.Grants {
		out.Grants = append(out.Grants, g.String())
	}
	return out
}

func (s *Server) startSession(w http.ResponseWriter, r *http.Request, p *gateway.Principal) error {
	var in client.StartSession
	if err := decode(w, r, &in); err != nil {
		return err
	}
	args := gateway.StartArgs{Agent: in.Agent}
	for _, g := range in.Grants {
		grant, err := gateway.ParseGrant(g)
		if err != nil {
			return err
		}
		args.Grants = append(args.Grants, grant)
	}
	if in.TTL != "" {
		d, err := time.ParseDuration(in.TTL)
		if err != nil || d <= 0 {
			return fmt.Errorf("%w: ttl %q: want a positive duration such as 30m or 8h", gateway.ErrInvalid, in.TTL)
		}
		args.TTL = d
	}
	sess, token, err := s.gw.StartSession(r.Context(), p, args)
	if err != nil {
		return err
	}
	out := sessionView(sess)
	out.Token = token
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) getSession(w http.ResponseWriter, r *http.Request, p *gateway.Principal) error {
	sess, err := s.gw.Session(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sessionView(sess))
	return nil
}

func (s *Server) endSession(w http.ResponseWriter, r *http.Request, p *gateway.Principal) error {
	sess, err := s.gw.EndSession(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sessionView(sess))
	return nil
}

// requestView is the API's picture of a request; analysis adds every
// command as analyzed (for one request, not in lists).
func requestView(rq *gateway.Request, analysis bool) client.Request {
	d := &rq.Decision
	out := client.Request{ID: rq.ID, SessionID: rq.SessionID, Agent: rq.Agent, Target: rq.Target, Kind: rq.Kind, Command: rq.Command,
		CommandHash: rq.CommandHash, Mode: string(rq.Mode), State: string(rq.State), Decision: string(d.Decision),
		RiskScore: d.RiskScore, RiskLevel: string(d.RiskLevel), Rule: d.Rule, Class: d.Class, Reasons: []client.Factor{},
		EstimatedRows: d.Impact.EstimatedRows, EstimatedFiles: d.Impact.EstimatedFiles, Reversible: d.Impact.Reversible,
		ApprovalsRequired: d.ApprovalsRequired, Approvals: rq.Approvals(), Votes: []client.Vote{}, Reason: rq.Reason,
		PolicyHash: d.PolicyHash, CreatedAt: rq.CreatedAt, ExpiresAt: rq.ExpiresAt, UpdatedAt: rq.UpdatedAt}
	for _, f := range d.Reasons {
		out.Reasons = append(out.Reasons, client.Factor{Factor: f.Name, Points: f.Points, Text: f.Text})
	}
	for _, v := range rq.Votes {
		out.Votes = append(out.Votes, client.Vote{Reviewer: v.Reviewer, Approve: v.Approve, Reason: v.Reason, At: v.At})
	}
	if rq.Result != nil {
		res := client.Result(*rq.Result)
		out.Result = &res
	}
	out.Impact, _ = json.Marshal(d.Impact)
	if analysis {
		out.Analysis, _ = json.Marshal(d.Commands)
	}
	return out
}

func (s *Server) submit(w http.ResponseWriter, r *http.Request, p *gateway.Principal) error {
	var in client.Submit
	if err := decode(w, r, &in); err != nil {
		return err
	}
	rq, err := s.gw.Submit(r.Context(), p, gateway.SubmitArgs{Target: in.Target, Kind: in.Kind, Command: in.Command, Mode: gateway.Mode(in.Mode)})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, requestView(rq, false))
	return nil
}

func (s *Server) listRequests(w http.ResponseWriter, r *http.Request, p *gateway.Principal) error {
	if st := r.URL.Query().Get("state"); st != "" && st != string(gateway.PendingReview) {
		return fmt.Errorf("%w: only state=pending_review can be listed", gateway.ErrInvalid)
	}
	limit := 0
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return fmt.Errorf("%w: limit %q: want a positive number", gateway.ErrInvalid, l)
		}
		limit = n
	}
	rs, err := s.gw.Pending(r.Context(), p, limit)
	if err != nil {
		return err
	}
	out := struct {
		Requests []client.Request `json:"requests"`
	}{Requests: make([]client.Request, 0, len(rs))}
	for _, rq := range rs {
		out.Requests = append(out.Requests, requestView(rq, false))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getRequest(w http.ResponseWriter, r *http.Request, p *gateway.Principal) error {
	id := r.PathValue("id")
	var rq *gateway.Request
	var err error
	if ws := r.URL.Query().Get("wait"); ws != "" {
		d, perr := time.ParseDuration(ws)
		if perr != nil || d < 0 {
			return fmt.Errorf("%w: wait %q: want a duration such as 30s", gateway.ErrInvalid, ws)
		}
		rq, err = s.gw.Wait(r.Context(), p, id, min(d, MaxWait))
		if err != nil && rq != nil && r.Context().Err() != nil {
			err = nil // the server is stopping or the client left: answer with the request as it is
		}
	} else {
		rq, err = s.gw.Request(r.Context(), p, id)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, requestView(rq, true))
	return nil
}

func (s *Server) vote(approve bool) handler {
	return func(w http.ResponseWriter, r *http.Request, p *gateway.Principal) error {
		var in client.VoteBody
		if err := decode(w, r, &in); err != nil {
			return err
		}
		rq, err := s.gw.Vote(r.Context(), p, r.PathValue("id"), gateway.VoteArgs{Approve: approve, Reason: in.Reason, CommandHash: in.CommandHash})
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, requestView(rq, false))
		return nil
	}
}

func (s *Server) report(w http.ResponseWriter, r *http.Request, p *gateway.Principal) error {
	var in client.Outcome
	if err := decode(w, r, &in); err != nil {
		return err
	}
	rq, err := s.gw.Report(r.Context(), p, r.PathValue("id"), gateway.Outcome(in))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, requestView(rq, false))
	return nil
}

func auditFilter(r *http.Request) (audit.Filter, error) {
	q := r.URL.Query()
	f := audit.Filter{SessionID: q.Get("session"), RequestID: q.Get("request"), Type: audit.Type(q.Get("type"))}
	if f.Type != "" {
		known := false
		for _, t := range audit.Types() {
			known = known || t == f.Type
		}
		if !known {
			return f, fmt.Errorf("%w: unknown event type %q (types: %v)", gateway.ErrInvalid, f.Type, audit.Types())
		}
	}
	if s := q.Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return f, fmt.Errorf("%w: since %q: want an RFC 3339 time such as 2026-11-27T08:00:00Z", gateway.ErrInvalid, s)
		}
		f.Since = t
	}
	return f, nil
}

// events streams the matching audit events as JSON lines, oldest first.
func (s *Server) events(w http.ResponseWriter, r *http.Request, p *gateway.Principal) error {
	f, err := auditFilter(r)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	started := false
	err = s.gw.Events(r.Context(), p, f, func(e *audit.Event) error {
		if !started {
			w.Header().Set("Content-Type", "application/x-ndjson")
			started = true
		}
		return enc.Encode(e)
	})
	if err != nil && !started {
		return err
	}
	if !started {
		w.Header().Set("Content-Type", "application/x-ndjson")
	}
	if err != nil {
		// Headers are gone; cut the stream so the client sees it short.
		s.log.Error("audit export interrupted", "error", err)
		panic(http.ErrAbortHandler)
	}
	return bw.Flush()
}

func (s *Server) verify(w http.ResponseWriter, r *http.Request, p *gateway.Principal) error {
	var known []audit.Head
	for _, h := range r.URL.Query()["head"] {
		seq, hash, ok := strings.Cut(h, ":")
		n, err := strconv.ParseInt(seq, 10, 64)
		if !ok || err != nil || n < 1 || len(hash) != 64 {
			return fmt.Errorf("%w: head %q: want SEQ:HASH as printed by an earlier verify", gateway.ErrInvalid, h)
		}
		known = append(known, audit.Head{Seq: n, Hash: hash})
	}
	res, err := s.gw.Verify(r.Context(), p, known...)
	var ce *audit.ChainError
	switch {
	case errors.As(err, &ce):
		writeJSON(w, http.StatusOK, client.Verification{OK: false, Events: res.Events, HeadSeq: res.Head.Seq, HeadHash: res.Head.Hash, BadSeq: ce.Seq, Error: ce.Error()})
		return nil
	case err != nil:
		return err
	}
	writeJSON(w, http.StatusOK, client.Verification{OK: true, Events: res.Events, HeadSeq: res.Head.Seq, HeadHash: res.Head.Hash})
	return nil
}
