package gateway

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
)

// SessionTokenPrefix starts every session token, so that a leaked one is
// recognizable (and secret scanners can find it).
const SessionTokenPrefix = "ghs_"

// sessionIDPrefix starts every session id (and no request id), so that a
// change announced by the store can be told apart.
const sessionIDPrefix = "ses_"

// StartArgs are what an admin gives to start a session.
type StartArgs struct {
	Agent  string
	Grants []Grant
	TTL    time.Duration // 0: the configured default
}

var agentPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$`)

// ParseGrant parses TARGET:ACCESS.
func ParseGrant(s string) (Grant, error) {
	target, access, ok := strings.Cut(s, ":")
	g := Grant{Target: target, Access: Access(access)}
	if !ok || target == "" {
		return g, fmt.Errorf("%w: grant %q: want TARGET:ACCESS, e.g. app-db:read", ErrInvalid, s)
	}
	switch g.Access {
	case Read, Write, Admin:
		return g, nil
	}
	return g, fmt.Errorf("%w: grant %q: access is read, write or admin", ErrInvalid, s)
}

// StartSession starts a session for an agent and returns it with its
// token, which is shown this once and stored only as a hash.
func (s *Service) StartSession(ctx context.Context, p *Principal, a StartArgs) (*Session, string, error) {
	if err := require(p, RoleAdmin); err != nil {
		return nil, "", err
	}
	if !agentPattern.MatchString(a.Agent) {
		return nil, "", fmt.Errorf("%w: agent name %q: letters, digits, '.', '_', '@' or '-', at most 64", ErrInvalid, a.Agent)
	}
	if len(a.Grants) == 0 {
		return nil, "", fmt.Errorf("%w: a session needs at least one grant (--grant TARGET:ACCESS)", ErrInvalid)
	}
	var grants []Grant
	for _, g := range a.Grants {
		if _, ok := s.cfg.Targets[g.Target]; !ok {
			return nil, "", fmt.Errorf("%w: grant %s: no target named %q (targets: %s)", ErrInvalid, g, g.Target, strings.Join(s.targetNames(), ", "))
		}
		if g.Access != Read && g.Access != Write && g.Access != Admin {
			return nil, "", fmt.Errorf("%w: grant %s: access is read, write or admin", ErrInvalid, g)
		}
		if !slices.Contains(grants, g) {
			grants = append(grants, g)
		}
	}
	ttl := a.TTL
	if ttl == 0 {
		ttl = s.cfg.SessionTTL
	}
	if ttl < 0 || ttl > s.cfg.MaxSessionTTL {
		return nil, "", fmt.Errorf("%w: ttl %s: want a positive duration of at most %s (the configured maximum)", ErrInvalid, a.TTL, s.cfg.MaxSessionTTL)
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	token := NewToken(SessionTokenPrefix)
	sess := &Session{ID: newID(sessionIDPrefix), Agent: a.Agent, Grants: grants, TokenHash: HashToken(token), CreatedAt: now, ExpiresAt: now.Add(ttl)}
	ev, err := audit.New(audit.SessionStarted, p.Actor(), map[string]any{
		"agent": sess.Agent, "grants": grantStrings(grants), "expires_at": sess.ExpiresAt, "ttl": ttl.String()})
	if err != nil {
		return nil, "", err
	}
	ev.Time = now
	if err := s.store.CreateSession(ctx, sess, ev); err != nil {
		return nil, "", fmt.Errorf("%w: record session: %w", ErrUnavailable, err)
	}
	s.log.Info("session started", "session", sess.ID, "agent", sess.Agent, "grants", grantStrings(grants), "expires_at", sess.ExpiresAt)
	return sess, token, nil
}

func grantStrings(gs []Grant) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.String()
	}
	return out
}

func (s *Service) targetNames() []string {
	var names []string
	for n := range s.cfg.Targets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// EndSession ends a session: its token stops working and its pending
// requests are denied. Ending an ended session is not an error.
func (s *Service) EndSession(ctx context.Context, p *Principal, id string) (*Session, error) {
	if err := require(p, RoleAdmin); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	sess, err := s.store.UpdateSession(ctx, id, func(sess *Session) ([]audit.Event, error) {
		if sess.EndedAt != nil {
			return nil, nil
		}
		sess.EndedAt = &now
		ev, err := audit.New(audit.SessionEnded, p.Actor(), map[string]any{"agent": sess.Agent, "reason": "ended by admin"})
		ev.Time = now
		return []audit.Event{ev}, err
	})
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: no session %q", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: end session: %w", ErrUnavailable, err)
	}
	// The store announces the end too; dropping it here as well means
	// the token stops working before this call returns.
	s.sessions.drop(id)
	pending, err := s.store.Requests(ctx, RequestFilter{SessionID: id, State: PendingReview})
	if err != nil {
		return sess, fmt.Errorf("%w: list the session's requests: %w", ErrUnavailable, err)
	}
	for _, r := range pending {
		if _, err := s.finish(ctx, r.ID, PendingReview, Denied, "gateway", "the session ended before a decision"); err != nil && !errors.Is(err, ErrConflict) {
			return sess, err
		}
	}
	s.log.Info("session ended", "session", id, "agent", sess.Agent)
	return sess, nil
}

// Session returns a session: admins see any, agents their own.
func (s *Service) Session(ctx context.Context, p *Principal, id string) (*Session, error) {
	if p != nil && p.Role == RoleAgent {
		if p.Session.ID != id {
			return nil, fmt.Errorf("%w: no session %q", ErrNotFound, id)
		}
		return p.Session, nil
	}
	if err := require(p, RoleAdmin); err != nil {
		return nil, err
	}
	sess, err := s.store.SessionByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: no session %q", ErrNotFound, id)
	}
	return sess, err
}
