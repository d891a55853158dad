package audit_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 678901000, time.UTC)

// chain builds n sealed events, as a store would: one after another, each
// numbered within its session (two sessions and session-less events
// interleaved).
func chain(n int) ([]audit.Event, audit.Head) {
	evs := make([]audit.Event, n)
	for i := range evs {
		evs[i] = audit.Event{Time: t0.Add(time.Duration(i) * time.Second), Type: audit.ReviewVoted,
			SessionID: []string{"s1", "s2", ""}[i%3], Actor: fmt.Sprintf("reviewer:r%d", i),
			Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))}
	}
	return rechain(evs, 0, true)
}

// rechain seals evs again from index from on, as an attacker with write
// access to the store would after editing it: renumbered, re-linked and,
// when sessions is set, renumbered within each session too. It returns
// the head of the new chain.
func rechain(evs []audit.Event, from int, sessions bool) ([]audit.Event, audit.Head) {
	prev := audit.Genesis
	if from > 0 {
		prev = evs[from-1].Hash
	}
	perSession := map[string]int64{}
	for i := range evs {
		e := &evs[i]
		if e.SessionID != "" {
			perSession[e.SessionID]++
			if sessions && i >= from {
				e.SessionSeq = perSession[e.SessionID]
			}
		}
		if i >= from {
			e.Seal(int64(i+1), prev)
			prev = e.Hash
		}
	}
	if len(evs) == 0 {
		return evs, audit.Head{}
	}
	last := evs[len(evs)-1]
	return evs, audit.Head{Seq: last.Seq, Hash: last.Hash}
}

// verify runs the verifier over evs and then Finish against head, and
// says whether the error (if any) came from Finish.
func verify(evs []audit.Event, head audit.Head) (err error, atFinish bool) {
	v := audit.NewVerifier()
	for i := range evs {
		if err := v.Check(&evs[i]); err != nil {
			return err, false
		}
	}
	return v.Finish(head), true
}

func TestVerify(t *testing.T) {
	const n = 10
	for _, tc := range []struct {
		name     string
		tamper   func(evs []audit.Event, h audit.Head) ([]audit.Event, audit.Head)
		wantSeq  int64 // 0: the chain verifies
		reason   string
		atFinish bool // the break is only visible against the head
	}{
		{name: "intact", tamper: func(evs []audit.Event, h audit.Head) ([]audit.Event, audit.Head) { return evs, h }},
		{name: "empty", tamper: func([]audit.Event, audit.Head) ([]audit.Event, audit.Head) { return nil, audit.Head{} }},
		{name: "edited data", wantSeq: 5, reason: "edited", tamper: func(evs []audit.Event, h audit.Head) ([]audit.Event, audit.Head) {
			evs[4].Data = json.RawMessage(`{"n":999}`)
			return evs, h
		}},
		{name: "edited actor", wantSeq: 5, reason: "edited", tamper: func(evs []audit.Event, h audit.Head) ([]audit.Event, audit.Head) {
			evs[4].Actor = "reviewer:mallory"
			return evs, h
		}},
		{name: "edited time", wantSeq: 5, reason: "edited", tamper: func(evs []audit.Event, h audit.Head) ([]audit.Event, audit.Head) {
			evs[4].Time = evs[4].Time.Add(-time.Microsecond)
			return evs, h
		}},
		{name: "edited type", wantSeq: 5, reason: "edited", tamper: func(evs []audit.Event, h audit.Head) ([]audit.Event, audit.Head) {
			evs[4].Type = audit.RequestApproved
			return evs, h
		}},
		{name: "edited request", wantSeq: 5, reason: "edited", tamper: func(evs []audit.Event, h audit.Head) ([]audit.Event, audit.Head) {
			evs[4].RequestID = "r-other"
			return evs, h
		}},
		{name: "deleted middle", wantSeq: 5, reason: "missing", tamper: func(evs []audit.Event, h audit.Head) ([]audit.Event, audit.Head) {
			return slices.Delete(evs, 4, 5), h
		}},
		{name: "deleted first", wantSeq: 1, reason: "missing", tamper: func(evs []audit.Event, h audit.Head) ([]audit.Event, audit.Head) {
			return evs[1:], h
		}},
		{name: "reordered", wantSeq: 4, reason: "missing", tamper: func(evs []audit.Event, h audit.Head) ([]audit.Event, audit.Head) {
			evs[3], evs[4] = evs[4], evs[3]
			return evs, h
		}},
		{name: "reordered with seq numbers swapped", wantSeq: 4, reason: "previous-hash", tamper: func(evs []audit.Event, h audit.Head) ([]audit.Event, audit.Head) {
			evs[3], evs[4] = evs[4], evs[3]
			evs[3].Seq, evs[4].Seq = 4, 5
			return evs, h
		}},
		{name: "repeated", wantSeq: 5, reason: "repeated", tamper: func(evs []audit.Event, h audit.Head) ([]audit.Event, audit.Head) {
			return slices.Insert(evs, 5, evs[4]), h
		}},
		{name: "relinked to another event", wantSeq: 5, reason: "previous-hash", tamper: func(evs []audit.Event, h audit.Head) ([]audit.Event, audit.Head) {
			evs[4].PrevHash = evs[2].Hash
			return evs, h
		}},
		// Deleting an event and sealing everything after it again makes a
		// chain that is valid in itself: only the recorded head shows that
		// it is one event short. An attacker who also rewrites the head is
		// caught only by a copy of the head kept outside the store.
		{name: "deleted and re-chained", wantSeq: n, reason: "removed from the end", atFinish: true, tamper: func(evs []audit.Event, h audit.Head) ([]audit.Event, audit.Head) {
			evs, _ = rechain(slices.Delete(evs, 4, 5), 4, true)
			return evs, h
		}},
		{name: "deleted, re-chained and padded to the head's length", wantSeq: n, reason: "does not match the recorded head", atFinish: true, tamper: func(evs []audit.Event, h audit.Head) ([]audit.Event, audit.Head) {
			evs = append(slices.Delete(evs, 4, 5), audit.Event{Time: t0, Type: audit.GatewayError, Actor: "gateway", Data: json.RawMessage(`{}`)})
			evs, _ = rechain(evs, 4, true)
			return evs, h
		}},
		{name: "truncated", wantSeq: n - 2, reason: "removed from the end", atFinish: true, tamper: func(evs []audit.Event, h audit.Head) ([]audit.Event, audit.Head) {
			return evs[:n-3], h
		}},
		{name: "appended after the head", wantSeq: n + 1, reason: "added outside", atFinish: true, tamper: func(evs []audit.Event, h audit.Head) ([]audit.Event, audit.Head) {
			evs = append(evs, audit.Event{Time: t0, Type: audit.GatewayError, Actor: "gateway", Data: json.RawMessage(`{}`)})
			evs, _ = rechain(evs, n, true)
			return evs, h
		}},
		{name: "head hash rewritten", wantSeq: n, reason: "does not match the recorded head", atFinish: true, tamper: func(evs []audit.Event, h audit.Head) ([]audit.Event, audit.Head) {
			h.Hash = evs[0].Hash
			return evs, h
		}},
		// Event 7 is the third of session s2 (events 2, 5, 8 are s2's:
		// index 1, 4, 7): numbered 4, and sealed again so that only the
		// session numbering is wrong.
		{name: "session numbering gap", wantSeq: 8, reason: "session s2 sequence number 4, want 3", tamper: func(evs []audit.Event, h audit.Head) ([]audit.Event, audit.Head) {
			evs[7].SessionSeq++
			return rechain(evs, 7, false)
		}},
		{name: "session numbering repeated", wantSeq: 8, reason: "session s2 sequence number 2, want 3", tamper: func(evs []audit.Event, h audit.Head) ([]audit.Event, audit.Head) {
			evs[7].SessionSeq--
			return rechain(evs, 7, false)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, head := tc.tamper(chain(n))
			err, atFinish := verify(evs, head)
			if tc.wantSeq == 0 {
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
				return
			}
			var ce *audit.ChainError
			if !errors.As(err, &ce) {
				t.Fatalf("verify = %v, want a *audit.ChainError", err)
			}
			if !errors.Is(err, audit.ErrBroken) {
				t.Errorf("verify = %v, not ErrBroken", err)
			}
			if ce.Seq != tc.wantSeq || !strings.Contains(ce.Reason, tc.reason) {
				t.Errorf("broken at %d (%s), want at %d with %q", ce.Seq, ce.Reason, tc.wantSeq, tc.reason)
			}
			if atFinish != tc.atFinish {
				t.Errorf("error came from Finish: %v, want %v", atFinish, tc.atFinish)
			}
		})
	}
}

func TestSeal(t *testing.T) {
	local := time.Date(2025, 1, 2, 5, 4, 5, 678901234, time.FixedZone("UTC+2", 2*3600))
	e := audit.Event{Time: local, Type: audit.GatewayError, Actor: "gateway", Data: json.RawMessage(`{}`)}
	e.Seal(1, audit.Genesis)
	if want := t0; e.Time != want {
		t.Errorf("sealed time %v, want %v: UTC, truncated to microseconds", e.Time, want)
	}
	if e.Seq != 1 || e.PrevHash != audit.Genesis || len(e.Hash) != 64 {
		t.Errorf("sealed event: seq %d, prev %s, hash %q", e.Seq, e.PrevHash, e.Hash)
	}
	again := e
	again.Seal(1, audit.Genesis)
	if again.Hash != e.Hash {
		t.Error("sealing the same event twice gives two hashes")
	}
	// The time an event keeps is the one its hash covers: a store that
	// writes and reads it back in audit.TimeFormat gets the same event.
	back, err := time.Parse(audit.TimeFormat, e.Time.Format(audit.TimeFormat))
	if err != nil || !back.Equal(e.Time) {
		t.Errorf("time round trip through TimeFormat: %v, %v", back, err)
	}
}

func TestNew(t *testing.T) {
	if _, err := audit.New(audit.GatewayError, "gateway", map[string]any{"reason": "x"}); err != nil {
		t.Errorf("New with an object: %v", err)
	}
	for _, v := range []any{nil, []int{1}, "text", 3, func() {}} {
		if _, err := audit.New(audit.GatewayError, "gateway", v); err == nil {
			t.Errorf("New(%T) succeeded, want an error: event data is a JSON object", v)
		}
	}
}

// FuzzVerify flips one byte of one event's data or actor: the chain must
// break at that event unless the byte is unchanged. Events are built as
// the gateway builds them, with audit.New. Actors are kept valid UTF-8:
// the hash covers the JSON encoding of the actor, in which every invalid
// byte becomes U+FFFD, so two actors that differ only in invalid bytes
// hash alike.
func FuzzVerify(f *testing.F) {
	f.Add([]byte(`{"k":"v"}`), uint8(0), uint16(3), byte(1), false)
	f.Add([]byte("rm -rf build"), uint8(2), uint16(0), byte(0x80), true)
	f.Add([]byte("<script>&"), uint8(1), uint16(9), byte(0x20), false)
	f.Add([]byte("é\u2028"), uint8(3), uint16(7), byte(0x40), true)
	f.Add([]byte(""), uint8(1), uint16(7), byte(0), false)
	f.Fuzz(func(t *testing.T, payload []byte, idx uint8, pos uint16, mask byte, actor bool) {
		evs := make([]audit.Event, 4)
		for i := range evs {
			ev, err := audit.New(audit.RequestSubmitted, "agent:"+strings.ToValidUTF8(string(payload), "?"),
				map[string]any{"command": string(payload), "i": i})
			if err != nil {
				t.Fatal(err)
			}
			ev.Time, ev.SessionID = t0, "s"
			evs[i] = ev
		}
		evs, head := rechain(evs, 0, true)
		e := &evs[int(idx)%len(evs)]
		var field string
		if actor {
			b := []byte(e.Actor)
			b[int(pos)%len(b)] ^= mask
			e.Actor, field = string(b), "actor"
		} else {
			b := slices.Clone(e.Data)
			b[int(pos)%len(b)] ^= mask
			e.Data, field = b, "data"
		}
		err, _ := verify(evs, head)
		if mask == 0 {
			if err != nil {
				t.Fatalf("untouched chain: %v", err)
			}
			return
		}
		var ce *audit.ChainError
		if !errors.As(err, &ce) {
			t.Fatalf("flipping byte %d of event %d's %s by %#x went unnoticed (err %v)", int(pos), e.Seq, field, mask, err)
		}
		if ce.Seq != e.Seq {
			t.Fatalf("flipped event %d, chain reported broken at %d: %v", e.Seq, ce.Seq, err)
		}
	})
}
