package notify

import (
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/gateway"
)

// Payload renders a notice in a webhook's format: "slack" (text and
// blocks, with a button to the request) or "json".
func Payload(format string, no gateway.Notice) ([]byte, error) {
	switch format {
	case "slack":
		return marshal(slackPayload(no))
	case "json", "":
		return marshal(jsonPayload{Event: no.Event, Link: no.Link, SentAt: time.Now().UTC(), Request: no.Request})
	}
	return nil, fmt.Errorf("unknown webhook format %q", format)
}

type jsonPayload struct {
	Event   string                `json:"event"` // review.needed or request.decided
	Link    string                `json:"link"`
	SentAt  time.Time             `json:"sent_at"`
	Request gateway.NoticeRequest `json:"request"`
}

// slackEscape escapes the three characters Slack's mrkdwn gives meaning
// to, so that a command cannot forge links or mentions.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// codeBlock shows text verbatim: escaped, cut to a size a message can
// hold, with backquote runs broken so the block cannot be closed early.
func codeBlock(s string, max int) string {
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "") + "…"
	}
	s = strings.ReplaceAll(slackEscape(s), "```", "`\u200b``")
	return "```" + s + "```"
}

func slackPayload(no gateway.Notice) map[string]any {
	r := no.Request
	var title string
	switch no.Event {
	case gateway.NoticeReviewNeeded:
		title = fmt.Sprintf(":warning: *Review needed*: %s on *%s* — risk %s (%d), %d approval(s) needed",
			slackEscape(r.Agent), slackEscape(r.Target), r.RiskLevel, r.RiskScore, r.ApprovalsRequired)
	default:
		title = fmt.Sprintf("*%s*: %s on *%s*", strings.ToUpper(strings.ReplaceAll(string(r.State), "_", " ")), slackEscape(r.Agent), slackEscape(r.Target))
	}
	text := title + "\n" + codeBlock(r.Command, 2500)
	fields := []string{fmt.Sprintf("*Request* `%s`", r.ID), fmt.Sprintf("*Class* %s", slackEscape(r.Class))}
	if r.EstimatedRows != nil {
		fields = append(fields, fmt.Sprintf("*Rows* %d", *r.EstimatedRows))
	}
	if r.Reason != "" {
		fields = append(fields, "*Reason* "+slackEscape(r.Reason))
	}
	if no.Event == gateway.NoticeReviewNeeded {
		fields = append(fields, "*Expires* <!date^"+fmt.Sprint(r.ExpiresAt.Unix())+"^{time}|"+r.ExpiresAt.UTC().Format(time.RFC3339)+">")
	}
	blocks := []map[string]any{
		{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": text}},
		{"type": "context", "elements": []map[string]any{{"type": "mrkdwn", "text": strings.Join(fields, "  ·  ")}}},
	}
	if no.Link != "" {
		blocks = append(blocks, map[string]any{"type": "actions", "elements": []map[string]any{{
			"type": "button", "text": map[string]any{"type": "plain_text", "text": "Open request"}, "url": no.Link, "action_id": "open_request",
		}}})
	}
	return map[string]any{"text": title + " — " + no.Link, "blocks": blocks}
}
