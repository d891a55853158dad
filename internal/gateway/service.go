package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/engine"
)

// Errors the front doors map to responses.
var (
	ErrUnauthorized = errors.New("unauthorized: unknown or expired token")
	ErrForbidden    = errors.New("forbidden")
	ErrInvalid      = errors.New("invalid request")
	ErrExpired      = errors.New("expired")
	ErrUnavailable  = errors.New("unavailable")
	ErrTooMany      = errors.New("too many requests")
)

// Role is what a token may do.
type Role int

// Roles. An agent's token is never a reviewer's or an admin's.
const (
	RoleAgent Role = iota + 1
	RoleReviewer
	RoleAdmin
)

func (r Role) String() string {
	switch r {
	case RoleAgent:
		return "agent"
	case RoleReviewer:
		return "reviewer"
	case RoleAdmin:
		return "admin"
	}
	return "none"
}

// Principal is who a token belongs to.
type Principal struct {
	Role    Role
	Name    string   // the agent's, reviewer's or "admin"
	Session *Session // agents only
}

// Actor is how the audit trail names the principal.
func (p *Principal) Actor() string {
	if p.Role == RoleAdmin {
		return "admin"
	}
	return p.Role.String() + ":" + p.Name
}

// Target is what the gateway knows of a target besides the engine's view.
type Target struct {
	Name     string
	Kind     string // shell, postgres, http
	Class    string
	Executor Executor // nil: requests to it are decided but cannot execute
}

// Config is the gateway's behaviour.
type Config struct {
	Targets        map[string]Target
	Reviewers      map[string]string // reviewer name → SHA-256 of the token (hex)
	AdminTokenHash string            // SHA-256 of the admin token (hex)
	MaxSessionTTL  time.Duration     // 0: 24h
	SessionTTL     time.Duration     // default TTL; 0: 1h
	ReviewExpiry   time.Duration     // 0: 15 minutes
	// Exclusive says no other gateway shares the store (SQLite): a run
	// left executing at start-up is then known to be abandoned.
	Exclusive bool
	// MaxPending caps the requests one session may have waiting for
	// review at once; 0: 50.
	MaxPending int
	// Now is the clock; nil: time.Now. Tests pass their own.
	Now func() time.Time
	// Notifier is told when a request needs review and when one is
	// decided; nil: nobody. LinkBase starts the link in a notice.
	Notifier Notifier
	LinkBase string
}

// Service is the gateway. It is safe for concurrent use.
type Service struct {
	cfg    Config
	engine *engine.Engine
	store  Store
	log    *slog.Logger

	now func() time.Time // Config.Now

	hub          *hub
	waits        waitCounter
	sessions     *sessionCache
	pendingLocks [64]sync.Mutex     // by session: the pending-review count and the create, one at a time
	stop         context.CancelFunc // ends what Start started and the executions
	stopped      <-chan struct{}    // closed by stop
	running      sync.WaitGroup
	wake         chan struct{} // tells the expiry sweeper a new pending request exists
}

// New returns a service. Start must be called before it is used.
func New(cfg Config, eng *engine.Engine, store Store, log *slog.Logger) *Service {
	if cfg.MaxSessionTTL <= 0 {
		cfg.MaxSessionTTL = 24 * time.Hour
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = time.Hour
	}
	cfg.SessionTTL = min(cfg.SessionTTL, cfg.MaxSessionTTL)
	if cfg.ReviewExpiry <= 0 {
		cfg.ReviewExpiry = 15 * time.Minute
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 50
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg, engine: eng, store: store, log: log.With("component", "gateway"), now: cfg.Now,
		hub: newHub(), sessions: newSessionCache(), wake: make(chan struct{}, 1)}
}

// Start begins watching the store, recovers requests interrupted by a
// previous stop, and starts the expiry sweeper.
func (s *Service) Start(ctx context.Context) error {
	// What Start begins outlives the call that started it: its context
	// is the service's own, ended by Stop.
	life, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop, s.stopped = stop, life.Done()
	if err := s.store.Watch(life, s.changed); err != nil {
		stop()
		return fmt.Errorf("watch store: %w", err)
	}
	if err := s.recover(ctx); err != nil {
		stop()
		return err
	}
	s.running.Add(1)
	go s.sweep(life)
	return nil
}

// changed is told of every session or request the store changed.
func (s *Service) changed(id string) {
	if id == "" || strings.HasPrefix(id, sessionIDPrefix) {
		s.sessions.drop(id)
	}
	s.hub.notify(id)
}

// Stop ends the sweeper and waits for running executions.
func (s *Service) Stop() {
	if s.stop != nil {
		s.stop()
	}
	s.running.Wait()
}

// HashToken is how tokens are kept: SHA-256, hex. Tokens are 256-bit
// random values, so a fast hash is enough.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// NewToken returns a fresh 256-bit random token with a prefix that says
// what it is for.
func NewToken(prefix string) string {
	var b [32]byte
	rand.Read(b[:])
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// newID returns an id that sorts by creation time (48 bits of
// milliseconds, then 64 random bits), so that the store's indexes grow at
// their end instead of at random pages.
func newID(prefix string) string {
	var b [14]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	rand.Read(b[6:])
	return prefix + hex.EncodeToString(b[:])
}

// Authenticate returns the principal a token belongs to; ErrUnauthorized
// for an unknown token, an ended or expired session.
func (s *Service) Authenticate(ctx context.Context, token string) (*Principal, error) {
	if token == "" {
		return nil, ErrUnauthorized
	}
	h := HashToken(token)
	if s.cfg.AdminTokenHash != "" && subtle.ConstantTimeCompare([]byte(h), []byte(s.cfg.AdminTokenHash)) == 1 {
		return &Principal{Role: RoleAdmin, Name: "admin"}, nil
	}
	for name, rh := range s.cfg.Reviewers {
		if subtle.ConstantTimeCompare([]byte(h), []byte(rh)) == 1 {
			return &Principal{Role: RoleReviewer, Name: name}, nil
		}
	}
	if !strings.HasPrefix(token, SessionTokenPrefix) {
		return nil, ErrUnauthorized
	}
	sess := s.sessions.get(h)
	if sess == nil {
		gen := s.sessions.generation()
		var err error
		sess, err = s.store.SessionByToken(ctx, h)
		if errors.Is(err, ErrNotFound) {
			return nil, ErrUnauthorized
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		if sess.Active(s.now()) {
			s.sessions.put(sess, gen)
		}
	}
	if !sess.Active(s.now()) {
		return nil, fmt.Errorf("%w (session %s has ended or expired)", ErrUnauthorized, sess.ID)
	}
	return &Principal{Role: RoleAgent, Name: sess.Agent, Session: sess}, nil
}

func require(p *Principal, roles ...Role) error {
	for _, r := range roles {
		if p != nil && p.Role == r {
			return nil
		}
	}
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = r.String()
	}
	role := "no token"
	if p != nil {
		role = "the token of " + p.Actor()
	}
	return fmt.Errorf("%w: this needs a %s token, not %s", ErrForbidden, strings.Join(names, " or "), role)
}

// notify tells the notifier of a request's event.
func (s *Service) notify(event string, r *Request) {
	if s.cfg.Notifier == nil || r == nil {
		return
	}
	d := &r.Decision
	s.cfg.Notifier.Notify(Notice{Event: event, Link: strings.TrimRight(s.cfg.LinkBase, "/") + "/v1/requests/" + r.ID,
		Request: NoticeRequest{ID: r.ID, Agent: r.Agent, SessionID: r.SessionID, Target: r.Target, Class: d.Class, Kind: r.Kind,
			Command: r.Command, State: r.State, Decision: string(d.Decision), RiskScore: d.RiskScore, RiskLevel: string(d.RiskLevel),
			EstimatedRows: d.Impact.EstimatedRows, ApprovalsRequired: d.ApprovalsRequired, Approvals: r.Approvals(), Reason: r.Reason,
			ExpiresAt: r.ExpiresAt}})
}

// NotifyFailed records in the audit trail that a notice could not be
// delivered (url without its secret path).
func (s *Service) NotifyFailed(n Notice, url string, cause error) {
	ev, err := audit.New(audit.GatewayError, "gateway", map[string]any{"what": "notification not delivered", "event": n.Event,
		"url": url, "error": cause.Error()})
	if err != nil {
		return
	}
	ev.SessionID, ev.RequestID = n.Request.SessionID, n.Request.ID
	if err := s.store.Append(context.Background(), ev); err != nil {
		s.log.Error("record notification failure", "error", err)
	}
}

// Targets returns the targets, for the front doors' listings.
func (s *Service) Targets() map[string]Target { return s.cfg.Targets }

// Events calls fn for each audit event matching f (admins only).
func (s *Service) Events(ctx context.Context, p *Principal, f audit.Filter, fn func(*audit.Event) error) error {
	if err := require(p, RoleAdmin); err != nil {
		return err
	}
	if err := s.store.Events(ctx, f, fn); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

// Verification is the result of checking the whole trail.
type Verification struct {
	Events int64
	Head   audit.Head
}

// Verify checks the whole trail's hash chain against its recorded head
// and any heads recorded earlier; a broken chain is a *audit.ChainError
// naming the first bad event.
func (s *Service) Verify(ctx context.Context, p *Principal, known ...audit.Head) (Verification, error) {
	if err := require(p, RoleAdmin); err != nil {
		return Verification{}, err
	}
	return VerifyStore(ctx, s.store, known...)
}

// VerifyStore verifies a store's trail: every event in order, then its
// end against the recorded head. The head is read before and after the
// events: events appended meanwhile are not mistaken for tampering, while
// events written around the gateway (after the head, or with the head
// moved back) are reported.
//
// known are heads recorded earlier (printed by a previous verification,
// kept outside the database): each must still be on the chain, which
// catches a trail re-chained and given a new head by someone with write
// access to the database.
func VerifyStore(ctx context.Context, st Store, known ...audit.Head) (Verification, error) {
	var out Verification
	before, err := st.Head(ctx)
	if err != nil {
		return out, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	v := audit.NewVerifier()
	err = st.Events(ctx, audit.Filter{}, func(e *audit.Event) error {
		if err := v.Check(e); err != nil {
			return err
		}
		for _, k := range known {
			if k.Seq == e.Seq && k.Hash != e.Hash {
				return &audit.ChainError{Seq: e.Seq, Reason: "the event's hash differs from the head recorded earlier (" + k.Hash + "): the trail was rewritten"}
			}
		}
		return nil
	})
	out.Events = v.Count()
	if err != nil {
		return out, err
	}
	for _, k := range known {
		if k.Seq > v.Count() {
			return out, &audit.ChainError{Seq: v.Count() + 1, Reason: fmt.Sprintf("the trail ends at event %d, before the head recorded earlier (%d)", v.Count(), k.Seq)}
		}
	}
	after, err := st.Head(ctx)
	if err != nil {
		return out, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	out.Head = after
	n := v.Count()
	switch {
	case before.Seq > n:
		// Events the head had already counted are gone: truncation.
		return out, v.Finish(before)
	case after.Seq < n:
		// Events past the head were not written by the gateway.
		return out, v.Finish(after)
	case after.Seq == n:
		return out, v.Finish(after)
	}
	// Appends after the events were read: the events read end where the
	// chain continues, so the last one read must be the head of then.
	if before.Seq == n {
		return out, v.Finish(before)
	}
	return out, nil
}
