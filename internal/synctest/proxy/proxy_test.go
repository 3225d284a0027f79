package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

func TestCountsBothWays(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 1000)
		if _, err := io.ReadFull(c, buf); err != nil {
			return
		}
		_, _ = c.Write(buf[:300]) // answer 300 bytes
	}()
	p, err := Start(context.Background(), ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 300)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	if p.Up() != 1000 {
		t.Errorf("up = %d, want 1000", p.Up())
	}
	if p.Down() != 300 {
		t.Errorf("down = %d, want 300", p.Down())
	}
	p.Reset()
	if p.Up() != 0 || p.Down() != 0 {
		t.Errorf("after Reset: up %d down %d", p.Up(), p.Down())
	}
}

// Cut closes both sides; Sever closes the client's and leaves the target's
// open and silent, as a dropped network does.
func TestCutAndSever(t *testing.T) {
	for _, sever := range []bool{false, true} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		accepted := make(chan net.Conn, 1)
		go func() {
			c, err := ln.Accept()
			if err == nil {
				accepted <- c
			}
		}()
		p, err := Start(context.Background(), ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		srv := <-accepted
		// A byte through both sides: the proxy forwards this connection.
		if _, err := c.Write([]byte{1}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(srv, make([]byte, 1)); err != nil {
			t.Fatal(err)
		}
		if sever {
			p.Sever()
		} else {
			p.Cut()
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Errorf("sever=%v: the client's side still reads", sever)
		}
		_ = srv.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		_, err = srv.Read(make([]byte, 1))
		var ne net.Error
		timedOut := errors.As(err, &ne) && ne.Timeout()
		if sever && !timedOut {
			t.Errorf("Sever: the target's side ended (%v), want it open and silent", err)
		}
		if !sever && timedOut {
			t.Error("Cut: the target's side is still open")
		}
		srv.Close()
		c.Close()
		p.Close()
		ln.Close()
	}
}
