package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"

	"github.com/gatehouse/gatehouse/internal/engine"
	"github.com/gatehouse/gatehouse/internal/policy"
)

// CheckCommand decides commands locally: "gatehouse check".
type CheckCommand struct {
	m *Main

	configPath string
	kind       string
	target     string
	jsonOut    bool
	batch      string
	commands   bool
}

// Exit codes of check for a single command.
const (
	exitReview = 3
	exitDeny   = 4
)

const checkUsage = `Usage:
  gatehouse check [--config FILE] [--kind shell|sql] [--target NAME] [--json] -- COMMAND
  gatehouse check [--config FILE] --batch FILE|-

Decides a command the way the gateway would, without a server and without
executing anything, and prints the decision with its reasons.

COMMAND is the text a shell would run. Several words are joined with spaces
(as ssh does), so quote pipes and redirections: gatehouse check -- 'ls | wc -l'.

With --batch, reads JSON Lines ({"kind","command","target"?}) and writes one
JSON decision per line, in the same order; a bad line gets {"error": ...}
and the batch goes on.

Exit status: 0 allow, 3 review, 4 deny, 1 error, 2 usage (with --batch: 0
once every line has an answer).

Flags:
`

func (c *CheckCommand) flags() *flag.FlagSet {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(c.m.Stderr)
	fs.StringVar(&c.configPath, "config", "", "configuration `FILE` (default: $GATEHOUSE_CONFIG, else the embedded defaults)")
	fs.StringVar(&c.kind, "kind", "", "command kind: shell or sql (default: from the target)")
	fs.StringVar(&c.target, "target", "", "target `NAME` (default: local)")
	fs.BoolVar(&c.jsonOut, "json", false, "print the decision as JSON")
	fs.StringVar(&c.batch, "batch", "", "decide JSON Lines from `FILE` (- for standard input)")
	fs.BoolVar(&c.commands, "commands", false, "with --batch, include each command's analysis in the output")
	fs.Usage = func() {
		fmt.Fprint(c.m.Stderr, checkUsage)
		fs.PrintDefaults()
	}
	return fs
}

// Run runs the command.
func (c *CheckCommand) Run(ctx context.Context, args []string) error {
	fs := c.flags()
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch c.kind {
	case "", "shell", "sql":
	default:
		return usageError{msg: fmt.Sprintf("--kind %q: want shell or sql", c.kind), hint: "gatehouse check --kind sql -- 'SELECT 1'"}
	}
	cfg, err := c.m.loadConfig(c.configPath)
	if err != nil {
		return err
	}
	pol, err := loadPolicy(cfg.PolicyPath)
	if err != nil {
		return err
	}
	eng, err := newEngine(cfg, pol)
	if err != nil {
		return err
	}
	if c.batch != "" {
		if fs.NArg() > 0 {
			return usageError{msg: "--batch reads commands from a file; do not also give one", hint: "gatehouse check --batch commands.jsonl"}
		}
		return c.runBatch(ctx, eng)
	}
	if fs.NArg() == 0 {
		return usageError{msg: "no command to check", hint: "gatehouse check -- 'rm -rf build/'"}
	}
	d, err := eng.Decide(ctx, engine.Request{Kind: c.kind, Command: strings.Join(fs.Args(), " "), Target: c.target})
	if err != nil {
		return explainDecideError(err, cfg.TargetNames())
	}
	if c.jsonOut {
		enc := json.NewEncoder(c.m.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(d); err != nil {
			return err
		}
	} else {
		printDecision(c.m.Stdout, d)
	}
	switch d.Decision {
	case policy.Review:
		return exitError{exitReview}
	case policy.Deny:
		return exitError{exitDeny}
	}
	return nil
}

func explainDecideError(err error, targets []string) error {
	if errors.Is(err, engine.ErrUnknownTarget) {
		return usageError{msg: err.Error() + "; known targets: " + strings.Join(targets, ", "),
			hint: "gatehouse check --target " + targets[0] + " -- COMMAND"}
	}
	return err
}

// printDecision renders a decision for people.
func printDecision(w io.Writer, d *engine.Decision) {
	fmt.Fprintf(w, "%s  risk %d (%s)  rule %s\n", strings.ToUpper(string(d.Decision)), d.RiskScore, d.RiskLevel, d.Rule)
	if d.Decision == policy.Review {
		fmt.Fprintf(w, "  needs %d distinct reviewer(s)\n", d.ApprovalsRequired)
	}
	for _, r := range d.Reasons {
		if r.Points > 0 {
			fmt.Fprintf(w, "  %+4d  %s\n", r.Points, r.Text)
		} else {
			fmt.Fprintf(w, "        %s\n", r.Text)
		}
	}
	if len(d.Commands) > 0 {
		fmt.Fprintf(w, "commands (%d):\n", len(d.Commands))
	}
	for i, c := range d.Commands {
		if i == 50 {
			fmt.Fprintf(w, "  ... and %d more (see --json)\n", len(d.Commands)-i)
			break
		}
		via := ""
		if len(c.Via) > 0 {
			via = "  via " + strings.Join(c.Via, " > ")
		}
		fmt.Fprintf(w, "  %-6s %3d  %s%s\n", c.Decision, c.RiskScore, oneLine(c.Text, 100), via)
		var facts []string
		if s := c.Effects.Strings(); len(s) > 0 {
			facts = append(facts, strings.Join(s, ","))
		}
		if s := c.Scopes.Strings(); len(s) > 0 {
			facts = append(facts, strings.Join(s, ","))
		}
		for _, p := range c.Paths {
			facts = append(facts, fmt.Sprintf("%s %s (%s)", p.Access, p.Value, p.Class))
		}
		for _, h := range c.Hosts {
			facts = append(facts, "host "+h)
		}
		if len(facts) > 0 {
			fmt.Fprintf(w, "              %s\n", strings.Join(facts, "; "))
		}
		for _, f := range c.Findings {
			fmt.Fprintf(w, "              ! %s: %s\n", f.Kind, oneLine(f.Detail, 120))
		}
	}
	for _, warn := range d.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
}

func oneLine(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		if unsafeRune(r) {
			return '?'
		}
		return r
	}, s)
	if len(s) > n {
		cut := n
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		return s[:cut] + "…"
	}
	return s
}

// batchLine is one input line of --batch.
type batchLine struct {
	Kind    string  `json:"kind"`
	Command *string `json:"command"`
	Target  string  `json:"target"`
}

// batchError is the output for a line that cannot be decided.
type batchError struct {
	Error string `json:"error"`
	Line  int    `json:"line"`
}

// batchResult is the output for a decided line: the decision, without the
// per-command analysis unless asked for.
type batchResult struct {
	*engine.Decision
	Commands []engine.Command `json:"commands,omitempty"`
}

// maxBatchLine bounds one input line: a 1 MiB command JSON-escaped.
const maxBatchLine = 8 << 20

// runBatch decides JSON Lines in parallel and writes the answers in input
// order. Memory stays flat: a bounded window of lines is in flight.
func (c *CheckCommand) runBatch(ctx context.Context, eng *engine.Engine) (err error) {
	var in io.Reader = c.m.Stdin
	if c.batch != "-" {
		f, err := os.Open(c.batch)
		if err != nil {
			return fmt.Errorf("batch: %w", err)
		}
		defer f.Close()
		in = f
	}
	r := bufio.NewReaderSize(in, 1<<16)
	out := bufio.NewWriterSize(c.m.Stdout, 1<<16)
	defer func() {
		if ferr := out.Flush(); ferr != nil && err == nil {
			err = fmt.Errorf("write: %w", ferr)
		}
	}()

	workers := runtime.GOMAXPROCS(0)
	const window = 512
	lines := make([][]byte, 0, window)
	results := make([][]byte, window)
	lineNo := 0
	flush := func() error {
		var wg sync.WaitGroup
		next := make(chan int, len(lines))
		for i := range lines {
			next <- i
		}
		close(next)
		for range min(workers, len(lines)) {
			wg.Go(func() {
				var buf bytes.Buffer
				for i := range next {
					buf.Reset()
					c.decideLine(ctx, eng, &buf, lines[i], lineNo-len(lines)+i+1)
					results[i] = append(results[i][:0], buf.Bytes()...)
				}
			})
		}
		wg.Wait()
		if err := ctx.Err(); err != nil {
			// Decisions cut short are not decisions: write none of them.
			return err
		}
		for i := range lines {
			if _, err := out.Write(results[i]); err != nil {
				return fmt.Errorf("write: %w", err)
			}
		}
		lines = lines[:0]
		return nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		line, tooLong, err := readLine(r)
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("batch: %w", err)
		}
		if line != nil || tooLong {
			lineNo++
			if tooLong {
				line = []byte{0xff} // marks the line as too long; decideLine reports it
			}
			lines = append(lines, line)
			if len(lines) == window {
				if ferr := flush(); ferr != nil {
					return ferr
				}
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
	return flush()
}

// readLine reads one line, without its newline. A line over maxBatchLine
// is skipped and reported as tooLong.
func readLine(r *bufio.Reader) (line []byte, tooLong bool, err error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(buf)+len(chunk) > maxBatchLine {
			tooLong = true
			buf = nil
		} else if !tooLong {
			buf = append(buf, chunk...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			if len(buf) == 0 && !tooLong {
				return nil, false, err
			}
			return bytes.TrimRight(buf, "\r\n"), tooLong, err
		}
		return bytes.TrimRight(buf, "\r\n"), tooLong, nil
	}
}

func (c *CheckCommand) decideLine(ctx context.Context, eng *engine.Engine, w *bytes.Buffer, line []byte, n int) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	fail := func(msg string) { _ = enc.Encode(batchError{Error: msg, Line: n}) }
	if len(line) == 1 && line[0] == 0xff {
		fail(fmt.Sprintf("line longer than %d bytes", maxBatchLine))
		return
	}
	if len(bytes.TrimSpace(line)) == 0 {
		fail("empty line; want a JSON object such as {\"kind\":\"shell\",\"command\":\"ls\"}")
		return
	}
	var in batchLine
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		fail("malformed JSON: " + err.Error())
		return
	}
	if dec.More() {
		fail("more than one JSON value on the line")
		return
	}
	if in.Command == nil {
		fail(`missing "command"`)
		return
	}
	kind := in.Kind
	if kind == "" {
		kind = c.kind
	}
	switch kind {
	case "", "shell", "sql":
	default:
		fail(fmt.Sprintf("unknown kind %q: want shell or sql", kind))
		return
	}
	target := in.Target
	if target == "" {
		target = c.target
	}
	d, err := eng.Decide(ctx, engine.Request{Kind: kind, Command: *in.Command, Target: target})
	if err != nil {
		fail(err.Error())
		return
	}
	res := batchResult{Decision: d}
	if c.commands {
		res.Commands = d.Commands
	}
	_ = enc.Encode(res) // the outer Commands field shadows the decision's
}
