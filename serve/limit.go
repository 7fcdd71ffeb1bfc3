package serve

import (
	"net"
	"sync"
	"time"
)

// LimitListener returns a listener that holds at most n connections of ln
// open at once. A connection past the limit is answered at once with 503
// and a JSON error and closed, so that a client learns why instead of
// waiting in the kernel's backlog; n < 1 means no limit.
func LimitListener(ln net.Listener, n int) net.Listener {
	if n < 1 {
		return ln
	}
	return &limitListener{Listener: ln, sem: make(chan struct{}, n)}
}

type limitListener struct {
	net.Listener
	sem chan struct{}
}

// tooManyConns is the whole answer to a connection past the limit.
const tooManyConns = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 37\r\n\r\n{\"error\":\"too many open connections\"}"

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.sem <- struct{}{}:
			return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
		default:
			go func() {
				c.SetWriteDeadline(time.Now().Add(time.Second))
				c.Write([]byte(tooManyConns))
				c.Close()
			}()
		}
	}
}

// limitConn gives back its place when it is closed, once.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
