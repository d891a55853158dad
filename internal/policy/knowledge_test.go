package policy_test

import (
	"github.com/gatehouse/gatehouse/internal/policy"
	"github.com/gatehouse/gatehouse/internal/shellcmd"
)

// checkKnowledge validates a policy's knowledge section the way the engine
// loads it.
func checkKnowledge(p *policy.Policy) error {
	_, err := shellcmd.ParseKnowledgeSection(p.Knowledge, "knowledge")
	return err
}
