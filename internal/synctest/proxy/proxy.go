// Package proxy is a loopback TCP proxy that counts the bytes going each way,
// put between a pipeline and the sync server to measure what each pipeline
// sends over its WebSocket.
package proxy

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// Proxy forwards every connection made to Addr to the target address.
type Proxy struct {
	ln     net.Listener
	target string
	up     atomic.Int64 // client → target
	down   atomic.Int64 // target → client
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	pairs  map[*pair]struct{}
}

// pair is one forwarded connection: the client's side and the target's.
type pair struct {
	client, server net.Conn
	severed        atomic.Bool
}

// Start listens on 127.0.0.1 (a free port) and forwards to target.
func Start(ctx context.Context, target string) (*Proxy, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy: listen: %w", err)
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}, pairs: map[*pair]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the host:port clients connect to.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Up returns the bytes sent by clients to the target so far.
func (p *Proxy) Up() int64 { return p.up.Load() }

// Down returns the bytes sent by the target to clients so far.
func (p *Proxy) Down() int64 { return p.down.Load() }

// Reset sets both counters to zero.
func (p *Proxy) Reset() {
	p.up.Store(0)
	p.down.Store(0)
}

// Cut closes every forwarded connection and keeps listening: clients see
// the network drop while the target goes on running.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		_ = c.Close()
	}
}

// Sever drops the network the way a lost Wi-Fi does: every client sees its
// connection fail, while the target's side stays open and silent until the
// target gives up on it (its keepalive), as a server does when the packets
// stop rather than a connection closing.
func (p *Proxy) Sever() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pr := range p.pairs {
		pr.severed.Store(true)
		_ = pr.client.Close()
	}
}

// Close stops listening and closes every forwarded connection.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

func (p *Proxy) track(c net.Conn, add bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if add {
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = client.Close()
		return
	}
	pr := &pair{client: client, server: server}
	p.track(client, true)
	p.track(server, true)
	p.mu.Lock()
	p.pairs[pr] = struct{}{}
	p.mu.Unlock()
	var done sync.WaitGroup
	done.Add(2)
	pipe := func(dst, src net.Conn, n *atomic.Int64) {
		defer done.Done()
		// Counted as read, before forwarding: whoever receives the bytes
		// sees them counted already.
		_, _ = io.Copy(dst, countingReader{src, n})
		if pr.severed.Load() {
			// Nothing reaches the target any more, and nothing it sends
			// arrives: read it and drop it until it closes.
			if src == server {
				_, _ = io.Copy(io.Discard, server)
			}
			return
		}
		// Half-close so the other side sees EOF, then let it finish.
		if t, ok := dst.(*net.TCPConn); ok {
			_ = t.CloseWrite()
		}
	}
	go pipe(server, client, &p.up)
	go pipe(client, server, &p.down)
	done.Wait()
	_ = client.Close()
	_ = server.Close()
	p.track(client, false)
	p.track(server, false)
	p.mu.Lock()
	delete(p.pairs, pr)
	p.mu.Unlock()
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}
