package execute

import (
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Defaults for zero limits.
const (
	defaultTimeout   = 5 * time.Minute
	defaultMaxOutput = 1 << 20
)

// Result is what running a command produced.
type Result struct {
	// ExitCode is the shell command's exit status, -1 when a signal ended
	// it; nil for SQL.
	ExitCode *int `json:"exit_code,omitempty"`
	// Output is the combined stdout and stderr of a shell command, or the
	// rows the last row-returning SQL statement returned, capped.
	Output string `json:"output"`
	// Truncated says Output was cut at the cap.
	Truncated bool `json:"truncated,omitempty"`
	// RowsAffected is, for SQL, the sum of the rows the INSERT, UPDATE,
	// DELETE and MERGE statements reported.
	RowsAffected *int64 `json:"rows_affected,omitempty"`
	// Error says why the command failed (timeout, SQL error, effect cap).
	// It never contains a DSN or password.
	Error string `json:"error,omitempty"`
	// DurationMS is how long the command ran, in milliseconds.
	DurationMS int64 `json:"duration_ms"`
}

// OK says the command ran and succeeded: exit code 0 for a shell command,
// no error for SQL.
func (r *Result) OK() bool {
	return r.Error == "" && (r.ExitCode == nil || *r.ExitCode == 0)
}

// cappedBuffer keeps the first max bytes written to it and counts the rest.
type cappedBuffer struct {
	mu      sync.Mutex
	max     int
	buf     []byte
	dropped int64
}

func newCappedBuffer(max int) *cappedBuffer {
	return &cappedBuffer{max: max}
}

// Write never fails, so a command is never stopped for writing too much.
func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	if room := b.max - len(b.buf); room > 0 {
		k := min(room, len(p))
		b.buf = append(b.buf, p[:k]...)
		p = p[k:]
	}
	b.dropped += int64(len(p))
	return n, nil
}

func (b *cappedBuffer) WriteString(s string) (int, error) {
	return b.Write([]byte(s))
}

// output is the kept text as valid UTF-8 and whether some was dropped, in
// which case the text ends with a marker saying how much.
func (b *cappedBuffer) output() (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	kept, dropped := b.buf, b.dropped
	if dropped > 0 {
		// A rune cut in half by the cap is dropped rather than shown as
		// a replacement character.
		cut := trimPartialRune(kept)
		dropped += int64(len(kept) - len(cut))
		kept = cut
	}
	s := strings.ToValidUTF8(string(kept), "\uFFFD")
	if dropped == 0 {
		return s, false
	}
	return s + fmt.Sprintf("\n[output truncated: %d more bytes]", dropped), true
}

// trimPartialRune removes an incomplete UTF-8 sequence from the end of b.
func trimPartialRune(b []byte) []byte {
	for i := 1; i <= utf8.UTFMax && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if utf8.FullRune(b[len(b)-i:]) {
				return b
			}
			return b[:len(b)-i]
		}
	}
	return b
}
