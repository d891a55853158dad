// Package audit owns the audit trail's events and its hash chain.
//
// Every event carries a global sequence number and the hash of the event
// before it; its own hash covers its content and that previous hash, so an
// edit, a deletion, a reordering or a re-chained copy breaks the chain at
// the first event touched. A head record (the last sequence number and
// hash), written in the same transaction as the events, makes a truncated
// tail visible too. Stores (internal/store) append and read events; this
// package seals and verifies them and knows nothing of storage.
//
// Events never hold secret values: tokens appear only as hashes, and
// credentials only by the name of the reference that holds them.
package audit
