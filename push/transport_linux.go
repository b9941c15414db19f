package push

import (
	"sync"
	"syscall"
)

// poller waits for client input on every idle WebSocket connection of the
// process with one epoll instance and one goroutine, and starts a reader
// for a connection only when it has something to read. Each connection is
// armed for one event at a time (EPOLLONESHOT) and re-armed by its reader,
// so a connection never has two readers.
type poller struct {
	once  sync.Once
	epfd  int
	err   error
	mu    sync.Mutex
	conns map[uint64]*wsConn // by pollID; ids are never reused, descriptors are
	next  uint64
}

var wsPoller poller

func (p *poller) start() bool {
	p.once.Do(func() {
		p.epfd, p.err = syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if p.err == nil {
			p.conns = map[uint64]*wsConn{}
			go p.run()
		}
	})
	return p.err == nil
}

// arm asks for the next readiness event of c. false: c cannot be polled
// and must be read some other way.
func (p *poller) arm(c *wsConn) bool {
	if !p.start() {
		return false
	}
	c.pmu.Lock()
	defer c.pmu.Unlock()
	if c.ended {
		return true // nothing left to read
	}
	op := syscall.EPOLL_CTL_MOD
	// Taking p.mu also orders this reader's work before the next reader's,
	// which the poller starts under p.mu: the race detector cannot see
	// through epoll.
	p.mu.Lock()
	if c.pollID == 0 {
		p.next++
		c.pollID = p.next
		p.conns[c.pollID] = c
		op = syscall.EPOLL_CTL_ADD
	}
	p.mu.Unlock()
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT,
		Fd: int32(uint32(c.pollID)), Pad: int32(uint32(c.pollID >> 32))}
	var cerr error
	if err := c.raw.Control(func(fd uintptr) { cerr = syscall.EpollCtl(p.epfd, op, int(fd), &ev) }); err != nil || cerr != nil {
		p.forget(c)
		return false
	}
	return true
}

// remove stops polling c; the caller holds c.pmu.
func (p *poller) remove(c *wsConn) {
	c.raw.Control(func(fd uintptr) { syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil) })
	p.forget(c)
}

func (p *poller) forget(c *wsConn) {
	p.mu.Lock()
	delete(p.conns, c.pollID)
	p.mu.Unlock()
	c.pollID = 0
}

func (p *poller) run() {
	events := make([]syscall.EpollEvent, 256)
	for {
		n, err := syscall.EpollWait(p.epfd, events, -1)
		if err != nil {
			continue // EINTR; epoll_wait fails otherwise only on a bad descriptor or buffer
		}
		for _, ev := range events[:n] {
			id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			p.mu.Lock()
			c := p.conns[id]
			p.mu.Unlock()
			if c != nil {
				go c.readable()
			}
		}
	}
}
