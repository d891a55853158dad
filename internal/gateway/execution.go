package gateway

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/analysis"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/engine"
	"github.com/gatehouse/gatehouse/internal/execute"
)

// Estimate is what an executor can tell of a command's reach before it
// runs.
type Estimate struct {
	Attempted bool   // an estimate was tried (so nil Rows means it failed)
	Rows      *int64 // SQL: rows the DML statements would touch
	Files     *int64 // shell: files a deletion in the workspace would remove
	Exact     bool   // counted rather than planned
	Note      string // why there is no estimate
}

// Executor runs the approved requests of one target.
type Executor interface {
	// Estimate estimates a command's reach; it must not change anything.
	Estimate(ctx context.Context, command string, d *engine.Decision) Estimate
	// Run runs an approved command; approved is the impact the approval
	// was given for, which bounds what the run may do.
	Run(ctx context.Context, command string, approved engine.Impact) (*execute.Result, error)
	// MaxRun is the longest a run can take (its timeout).
	MaxRun() time.Duration
}

// runMargin is added to an executor's longest run for the run deadline;
// it covers recording the outcome too (retried for minutes when the store
// is unavailable).
const runMargin = 10 * time.Minute

// ShellExecutor runs a shell target's commands.
type ShellExecutor struct {
	Shell *execute.Shell
	// MaxCount caps the files counted for a deletion estimate.
	MaxCount int64
}

// Estimate counts the files that the deletions in the workspace would
// remove.
func (e *ShellExecutor) Estimate(ctx context.Context, command string, d *engine.Decision) Estimate {
	var paths []string
	for i := range d.Commands {
		for _, p := range d.Commands[i].Paths {
			if p.Access != analysis.AccessDelete || p.Class != analysis.Workspace {
				continue
			}
			v := p.Value
			if !filepath.IsAbs(v) {
				v = filepath.Join(e.Shell.Workdir, v)
			}
			if m, err := filepath.Glob(v); err == nil && len(m) > 0 {
				paths = append(paths, m...)
			} else {
				paths = append(paths, v)
			}
		}
	}
	if len(paths) == 0 {
		return Estimate{}
	}
	limit := e.MaxCount
	if limit <= 0 {
		limit = 100000
	}
	n, exact := execute.CountFiles(paths, limit)
	est := Estimate{Attempted: true, Files: &n, Exact: exact}
	if !exact {
		est.Note = fmt.Sprintf("at least %d files (counting stopped there)", n)
	}
	return est
}

// MaxRun is the shell's timeout.
func (e *ShellExecutor) MaxRun() time.Duration { return cmp.Or(e.Shell.Timeout, 5*time.Minute) }

// Run runs the command.
func (e *ShellExecutor) Run(ctx context.Context, command string, _ engine.Impact) (*execute.Result, error) {
	return e.Shell.Run(ctx, command)
}

// PostgresExecutor runs a postgres target's SQL with the gateway's
// credential.
type PostgresExecutor struct {
	DB         *execute.Postgres
	ExactBelow int64         // count exactly when the plan estimates at most this many rows
	Cap        execute.Cap   // Percent and Rows of the effect cap; Approved is set per run
	Timeout    time.Duration // statement timeout
	MaxOutput  int
}

// Estimate plans the DML statements (EXPLAIN), and counts exactly when
// that is cheap.
func (e *PostgresExecutor) Estimate(ctx context.Context, command string, d *engine.Decision) Estimate {
	writes := false
	for i := range d.Commands {
		u := &d.Commands[i].Unit
		if u.Effects == analysis.Effects(analysis.Read) {
			continue
		}
		writes = true
		// Only DML statements (also inside a WITH) have a row count to
		// plan; a TRUNCATE, a DO block or a function's writes do not,
		// and their rows are unknown, never 0.
		if !countable[u.Statement] || u.Effects.Any(analysis.Effects(analysis.Opaque, analysis.Unknown)) {
			return Estimate{Attempted: true, Note: "the rows a " + strings.ToUpper(strings.ReplaceAll(u.Statement, "_", " ")) + " statement changes cannot be estimated"}
		}
	}
	if !writes {
		return Estimate{}
	}
	est := e.DB.Estimate(ctx, command, e.ExactBelow)
	if est.Rows != nil && *est.Rows == 0 && !est.Exact {
		// Writes, but no DML statement to plan (a function, setval,
		// lo_unlink in a SELECT): unknown, never 0. A planned DML
		// statement is never estimated at 0 rows.
		return Estimate{Attempted: true, Note: "the rows this statement changes cannot be estimated"}
	}
	return Estimate{Attempted: true, Rows: est.Rows, Exact: est.Exact, Note: est.Error}
}

// MaxRun is the statement timeout, and the executor's own backstop.
func (e *PostgresExecutor) MaxRun() time.Duration {
	return cmp.Or(e.Timeout, 5*time.Minute) + 5*time.Second
}

// countable are the statements whose rows the estimator can plan.
var countable = map[string]bool{"delete": true, "update": true, "insert": true, "merge": true, "select": true}

// Run runs the SQL in a transaction, rolled back if it affects more rows
// than the approved estimate allows.
func (e *PostgresExecutor) Run(ctx context.Context, command string, approved engine.Impact) (*execute.Result, error) {
	c := e.Cap
	c.Approved = approved.EstimatedRows
	return e.DB.Run(ctx, command, c, e.Timeout, e.MaxOutput)
}

// startRun runs an approved request in the background, bound to the
// service's lifetime rather than to the call that approved it.
func (s *Service) startRun(id string) {
	s.running.Add(1)
	go func() {
		defer s.running.Done()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			select {
			case <-s.stopped:
				cancel()
			case <-ctx.Done():
			}
		}()
		s.run(ctx, id)
	}()
}

// run claims an approved request (approved → executing, once, in a
// transaction), runs it and records the outcome.
func (s *Service) run(ctx context.Context, id string) {
	log := s.log.With("request", id)
	now := s.now().UTC().Truncate(time.Microsecond)
	maxRun := time.Duration(0)
	r, err := s.store.UpdateRequest(ctx, id, func(r *Request) ([]audit.Event, error) {
		if r.State != Approved || r.Mode != Execute {
			return nil, fmt.Errorf("%w: request %s is %s", ErrConflict, r.ID, r.State)
		}
		if t := s.cfg.Targets[r.Target]; t.Executor != nil {
			maxRun = t.Executor.MaxRun()
		}
		why := claimable(r, now)
		r.UpdatedAt = now
		if why != "" {
			r.State, r.Reason = Failed, why
			ev, err := audit.New(audit.RequestFailed, "gateway", map[string]any{"reason": why})
			ev.Time = now
			return []audit.Event{ev}, err
		}
		r.State = Executing
		r.RunDeadline = now.Add(maxRun + runMargin)
		ev, err := audit.New(audit.RequestExecuting, "gateway", map[string]any{"command_hash": r.CommandHash, "run_deadline": r.RunDeadline})
		ev.Time = now
		return []audit.Event{ev}, err
	})
	if errors.Is(err, ErrConflict) {
		return
	}
	if err != nil {
		log.Error("claim request", "error", err)
		return
	}
	if r.State != Executing {
		log.Warn("request not run", "reason", r.Reason)
		return
	}
	// The session is read once the claim is committed, so that an end
	// committed before the claim is seen (and one after it finds the
	// request executing, as it is).
	if sess, err := s.store.SessionByID(ctx, r.SessionID); err != nil || !sess.Active(s.now()) {
		if _, err := s.finish(context.WithoutCancel(ctx), id, Executing, Failed, "gateway", "the session ended before the request could run"); err != nil {
			log.Error("record refusal", "error", err)
		}
		return
	}
	t := s.cfg.Targets[r.Target]
	var res *execute.Result
	if t.Executor == nil {
		res = &execute.Result{Error: fmt.Sprintf("target %s has no executor configured", r.Target)}
	} else {
		res, err = t.Executor.Run(ctx, r.Command, r.Decision.Impact)
		if err != nil {
			res = &execute.Result{Error: err.Error()}
		}
	}
	end := s.now().UTC().Truncate(time.Microsecond)
	// The outcome is recorded even when the service is stopping, and
	// again after a failure (the store may be down for a moment): a
	// request left executing would read as still running.
	record := func(r *Request) ([]audit.Event, error) {
		if r.State != Executing {
			return nil, fmt.Errorf("%w: request %s is %s", ErrConflict, r.ID, r.State)
		}
		r.Result, r.UpdatedAt = res, end
		typ := audit.RequestExecuted
		r.State, r.Reason = Executed, ""
		if !res.OK() {
			r.State, r.Reason, typ = Failed, res.Error, audit.RequestFailed
			if r.Reason == "" && res.ExitCode != nil {
				r.Reason = fmt.Sprintf("exit code %d", *res.ExitCode)
			}
		}
		ev, err := audit.New(typ, "gateway", map[string]any{"exit_code": res.ExitCode, "rows_affected": res.RowsAffected,
			"error": res.Error, "duration_ms": res.DurationMS, "output_bytes": len(res.Output), "truncated": res.Truncated})
		ev.Time = end
		return []audit.Event{ev}, err
	}
	var failures []string
	claimed := r
	for attempt, wait := 0, 100*time.Millisecond; ; attempt, wait = attempt+1, min(wait*2, 5*time.Second) {
		r, err = s.store.UpdateRequest(context.WithoutCancel(ctx), id, record)
		if err == nil || errors.Is(err, ErrConflict) || attempt == 8 {
			break
		}
		failures = append(failures, err.Error())
		log.Warn("record outcome", "attempt", attempt+1, "error", err)
		time.Sleep(wait) // a backoff between writes, not a synchronization
	}
	if errors.Is(err, ErrConflict) {
		// Another gateway took it for abandoned (its run deadline passed):
		// the trail says failed, but it ran; say so.
		ev, _ := audit.New(audit.GatewayError, "gateway", map[string]any{"what": "a run finished after its deadline; the request was already marked failed",
			"exit_code": res.ExitCode, "rows_affected": res.RowsAffected, "error": res.Error})
		ev.SessionID, ev.RequestID = claimed.SessionID, claimed.ID
		if err := s.store.Append(context.WithoutCancel(ctx), ev); err != nil {
			log.Error("record late outcome", "error", err)
		}
		return
	}
	if err != nil {
		log.Error("record outcome: giving up; the request stays executing until its run deadline", "error", err)
		return
	}
	if len(failures) > 0 {
		ev, _ := audit.New(audit.GatewayError, "gateway", map[string]any{"what": "recording the outcome failed before it succeeded", "errors": failures})
		ev.SessionID, ev.RequestID = r.SessionID, r.ID
		if err := s.store.Append(context.WithoutCancel(ctx), ev); err != nil {
			log.Error("record gateway error", "error", err)
		}
	}
	log.Info("request ran", "state", string(r.State), "duration_ms", res.DurationMS)
}

// claimable says why an approved request must not run now, or "". It
// runs inside the claim's transaction and reads nothing else: the
// session is checked once the claim is committed.
func claimable(r *Request, now time.Time) string {
	for _, v := range r.Votes {
		if v.Approve && v.CommandHash != r.CommandHash {
			return "an approval was for another command than the one stored; refusing to run"
		}
	}
	if CommandHash(r.Kind, r.Target, r.Command) != r.CommandHash {
		return "the stored command does not match its hash; refusing to run"
	}
	if now.After(r.ExpiresAt) {
		return "the approval was not used before the request expired (the gateway was down?); submit it again"
	}
	return ""
}

// recover deals with requests a previous run of the gateway left. A
// request caught executing has an unknown outcome and is never run again:
// with an exclusive store (no other gateway shares it) it is failed now;
// with a shared one only once its run deadline has passed, since another
// gateway may be running it (the sweeper does that). Approved requests no
// gateway started are run by the sweeper.
func (s *Service) recover(ctx context.Context) error {
	if !s.cfg.Exclusive {
		return nil
	}
	rs, err := s.store.Summaries(ctx, RequestFilter{State: Executing})
	if err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	for _, r := range rs {
		if _, err := s.finish(ctx, r.ID, Executing, Failed, "gateway", "the gateway stopped while this ran; its outcome is unknown and it is not run again"); err != nil && !errors.Is(err, ErrConflict) {
			return fmt.Errorf("recover %s: %w", r.ID, err)
		}
	}
	return nil
}
