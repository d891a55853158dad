package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Type names what happened.
type Type string

// Event types. Every state change of a session or a request is one.
const (
	SessionStarted   Type = "session.started"
	SessionEnded     Type = "session.ended"
	RequestSubmitted Type = "request.submitted"
	RequestDecided   Type = "request.decided"
	ReviewVoted      Type = "review.voted"
	RequestApproved  Type = "request.approved"
	RequestDenied    Type = "request.denied"
	RequestExpired   Type = "request.expired"
	RequestExecuting Type = "request.executing"
	RequestExecuted  Type = "request.executed"
	RequestFailed    Type = "request.failed"
	GatewayError     Type = "gateway.error" // a failure of the gateway itself, e.g. an outcome that could not be recorded at first
)

// ValidData reports whether data is what an event carries: one JSON
// object.
func ValidData(data []byte) bool {
	return len(data) > 0 && data[0] == '{' && json.Valid(data)
}

// Types lists every event type, for validating filters.
func Types() []Type {
	return []Type{SessionStarted, SessionEnded, RequestSubmitted, RequestDecided, ReviewVoted, RequestApproved,
		RequestDenied, RequestExpired, RequestExecuting, RequestExecuted, RequestFailed, GatewayError}
}

// Event is one entry of the audit trail.
type Event struct {
	Seq        int64           `json:"seq"`
	Time       time.Time       `json:"time"`
	Type       Type            `json:"type"`
	SessionID  string          `json:"session_id,omitempty"`
	SessionSeq int64           `json:"session_seq,omitempty"` // 1, 2, 3... within its session
	RequestID  string          `json:"request_id,omitempty"`
	Actor      string          `json:"actor"` // admin, agent:NAME, reviewer:NAME or gateway
	Data       json.RawMessage `json:"data"`  // the event's details, a JSON object
	PrevHash   string          `json:"prev_hash"`
	Hash       string          `json:"hash"`
}

// Head is the end of the chain: the last event's sequence number and hash.
type Head struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// Genesis is the previous hash of the first event.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// New returns an unsealed event whose data is v encoded as JSON.
func New(typ Type, actor string, v any) (Event, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return Event{}, fmt.Errorf("encode %s event: %w", typ, err)
	}
	if len(data) == 0 || data[0] != '{' {
		return Event{}, fmt.Errorf("encode %s event: data is not a JSON object", typ)
	}
	return Event{Type: typ, Actor: actor, Data: data}, nil
}

// Seal sets the event's sequence number, previous hash and hash. Time
// is truncated to microseconds and kept in UTC, so that every store keeps
// it exactly. Data must be a JSON object (see [New] and [ValidData]).
func (e *Event) Seal(seq int64, prev string) {
	e.Seq, e.PrevHash = seq, prev
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	e.Hash = e.computeHash()
}

// TimeFormat is how event times are written for hashing and storage.
const TimeFormat = "2006-01-02T15:04:05.000000Z07:00"

// hashVersion starts every hashed encoding, so that a future change of
// the encoding cannot be confused with this one.
const hashVersion = "gatehouse-audit-v1"

// computeHash hashes every field but the hash itself, each as its length
// and its exact bytes: no two different events encode alike (invalid
// UTF-8 and JSON spellings included), whatever the fields hold.
func (e *Event) computeHash() string {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	field := func(b []byte) {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(b)))])
		h.Write(b)
	}
	str := func(s string) { field([]byte(s)) }
	num := func(v int64) { field(strconv.AppendInt(nil, v, 10)) }
	str(hashVersion)
	num(e.Seq)
	str(e.Time.UTC().Format(TimeFormat))
	str(string(e.Type))
	str(e.SessionID)
	num(e.SessionSeq)
	str(e.RequestID)
	str(e.Actor)
	field(e.Data)
	str(e.PrevHash)
	return hex.EncodeToString(h.Sum(nil))
}

// ErrBroken is wrapped by every verification failure.
var ErrBroken = errors.New("audit chain broken")

// ChainError names the first event at which the chain is broken.
type ChainError struct {
	Seq    int64  // the sequence number where it breaks (the expected one when events are missing)
	Reason string // what is wrong there
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("audit chain broken at event %d: %s", e.Seq, e.Reason)
}

// Unwrap makes errors.Is(err, ErrBroken) true.
func (e *ChainError) Unwrap() error { return ErrBroken }

// Verifier checks events one at a time, in sequence order.
type Verifier struct {
	next       int64
	prev       string
	sessionSeq map[string]int64
}

// NewVerifier returns a verifier expecting the first event of the chain.
func NewVerifier() *Verifier {
	return &Verifier{next: 1, prev: Genesis, sessionSeq: map[string]int64{}}
}

// Check verifies the next event; the first error is a *ChainError.
func (v *Verifier) Check(e *Event) error {
	switch {
	case e.Seq < v.next:
		return &ChainError{Seq: e.Seq, Reason: fmt.Sprintf("sequence number %d repeated or out of order after %d", e.Seq, v.next-1)}
	case e.Seq > v.next:
		return &ChainError{Seq: v.next, Reason: fmt.Sprintf("events %d to %d are missing", v.next, e.Seq-1)}
	case e.PrevHash != v.prev:
		return &ChainError{Seq: e.Seq, Reason: "previous-hash link does not match the event before it (deleted, reordered or re-chained)"}
	case e.computeHash() != e.Hash:
		return &ChainError{Seq: e.Seq, Reason: "content does not match its hash (edited)"}
	}
	if e.SessionID != "" {
		if want := v.sessionSeq[e.SessionID] + 1; e.SessionSeq != want {
			return &ChainError{Seq: e.Seq, Reason: fmt.Sprintf("session %s sequence number %d, want %d", e.SessionID, e.SessionSeq, want)}
		}
		v.sessionSeq[e.SessionID] = e.SessionSeq
	}
	v.next++
	v.prev = e.Hash
	return nil
}

// Finish checks that the chain ends at the recorded head: events cut off
// the end (truncation) leave the head pointing past the last event.
func (v *Verifier) Finish(h Head) error {
	last := v.next - 1
	switch {
	case h.Seq > last:
		return &ChainError{Seq: last + 1, Reason: fmt.Sprintf("the trail ends at event %d but its head records %d: events were removed from the end", last, h.Seq)}
	case h.Seq < last:
		return &ChainError{Seq: h.Seq + 1, Reason: fmt.Sprintf("events after the recorded head %d (up to %d) were added outside the gateway", h.Seq, last)}
	case h.Hash != v.prev && !(last == 0 && h.Hash == ""):
		return &ChainError{Seq: last, Reason: "the last event's hash does not match the recorded head"}
	}
	return nil
}

// Count is the number of events verified so far.
func (v *Verifier) Count() int64 { return v.next - 1 }

// Filter selects events; zero fields match everything.
type Filter struct {
	SessionID string
	RequestID string
	Type      Type
	Since     time.Time
	AfterSeq  int64 // only events with a larger sequence number
	Limit     int   // 0: no limit
}
