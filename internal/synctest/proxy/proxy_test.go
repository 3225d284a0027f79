package proxy

import (
	"context"
	"io"
	"net"
	"testing"
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
