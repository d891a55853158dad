// Package gateway is the domain core: sessions, the request lifecycle of
// SPEC §2, reviews with a quorum of distinct reviewers, and execution of
// approved requests. It asks the engine for decisions, keeps everything
// in a [Store] whose writes carry their audit events, and runs approved
// requests through the executors only after their decision is durably
// recorded.
//
// A request moves pending_review → approved | denied | expired, then
// executing → executed | failed. Only an approved request in execute mode
// is ever run, once: the transition to executing is the claim, made in a
// transaction that checks the state, the session and that every approval
// was for the exact command that will run.
package gateway
