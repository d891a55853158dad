package shellcmd

import (
	"strings"

	"github.com/gatehouse/gatehouse/internal/analysis"
)

// isDecoder reports whether a unit turns encoded text back into code:
// base64 -d, xxd -r, rev, gunzip and the like (the knowledge base's
// decoders list).
func (w *walker) isDecoder(u *analysis.Unit) bool {
	if u.Kind != analysis.KindShell || u.Program == "" {
		return false
	}
	if w.kb.decoders[u.Program] {
		return true
	}
	for _, a := range u.Argv[1:] {
		if w.kb.decoders[u.Program+" "+a] {
			return true
		}
		// Clusters such as -di.
		if strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") {
			for _, c := range a[1:] {
				if w.kb.decoders[u.Program+" -"+string(c)] {
					return true
				}
			}
		}
	}
	return false
}

// flows relates units across the command line: reading a secret and
// talking to the network in the same request is a possible exfiltration
// even when no pipe connects them (a temp file, a variable).
func (w *walker) flows() {
	secret := -1
	for i := range w.units {
		if w.units[i].Effects.Has(analysis.SecretRead) {
			secret = i
			break
		}
	}
	if secret < 0 {
		return
	}
	for i := range w.units {
		u := &w.units[i]
		if i == secret || u.HasFinding(analysis.FindingSecretFlow) {
			continue
		}
		network := u.Effects.Any(analysis.Effects(analysis.Network, analysis.RemoteMutation)) || len(u.Hosts) > 0
		if network && !u.HasFinding(analysis.FindingMetadata) {
			u.Effects = u.Effects.With(analysis.Exfiltration)
			u.AddFinding(analysis.FindingSecretNetwork, "the same command line reads a secret ("+w.units[secret].Text+") and talks to the network")
		}
	}
}
