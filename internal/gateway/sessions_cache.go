package gateway

import "sync"

// sessionCache keeps the active sessions recently authenticated, by token
// hash, so that a request costs no store read to authenticate. An entry
// is dropped when the store announces a change of its session (the end,
// from this replica or another) and everything is dropped when
// announcements may have been lost; expiry is checked on every use.
//
// A session read from the store is cached only if nothing was dropped
// since the read began (the generation did not move): otherwise an end
// committed between the read and the put would be undone by the put.
type sessionCache struct {
	mu     sync.Mutex
	gen    uint64
	byHash map[string]*Session
	byID   map[string]string // session id → token hash
}

// maxCachedSessions bounds the cache; past it, it starts over.
const maxCachedSessions = 100000

func newSessionCache() *sessionCache {
	return &sessionCache{byHash: map[string]*Session{}, byID: map[string]string{}}
}

func (c *sessionCache) get(hash string) *Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byHash[hash]
}

// generation is the value to pass to put for a read starting now.
func (c *sessionCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

func (c *sessionCache) put(s *Session, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.byHash) >= maxCachedSessions {
		c.byHash, c.byID = map[string]*Session{}, map[string]string{}
	}
	c.byHash[s.TokenHash] = s
	c.byID[s.ID] = s.TokenHash
}

// drop forgets the session id; an empty id forgets every session.
func (c *sessionCache) drop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if id == "" {
		c.byHash, c.byID = map[string]*Session{}, map[string]string{}
		return
	}
	if h, ok := c.byID[id]; ok {
		delete(c.byHash, h)
		delete(c.byID, id)
	}
}
