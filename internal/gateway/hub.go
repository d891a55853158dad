package gateway

import "sync"

// hub wakes the waiters of a request when the store says it changed. An
// empty id (the store lost its notifications) wakes everyone.
type hub struct {
	mu   sync.Mutex
	subs map[string]map[chan struct{}]struct{}
}

func newHub() *hub { return &hub{subs: map[string]map[chan struct{}]struct{}{}} }

func (h *hub) subscribe(id string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	if h.subs[id] == nil {
		h.subs[id] = map[chan struct{}]struct{}{}
	}
	h.subs[id][ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs[id], ch)
		if len(h.subs[id]) == 0 {
			delete(h.subs, id)
		}
		h.mu.Unlock()
	}
}

func (h *hub) notify(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	wake := func(chs map[chan struct{}]struct{}) {
		for ch := range chs {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
	if id == "" {
		for _, chs := range h.subs {
			wake(chs)
		}
		return
	}
	wake(h.subs[id])
}

// maxWaitsPerSession caps the long-polls one session holds open at once.
const maxWaitsPerSession = 32

// waitCounter counts the open waits of each session.
type waitCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *waitCounter) acquire(session string) (release func(), ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	if c.n[session] >= maxWaitsPerSession {
		return nil, false
	}
	c.n[session]++
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.n[session]--; c.n[session] == 0 {
			delete(c.n, session)
		}
	}, true
}
