package dashboard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// serverLimits bounds what one client can hold of a server: time to send
// a request, to read an answer, to sit idle, and the connections open at
// once. The event streams are long-lived, so they manage their own
// deadlines (see Handler.serveEvents).
type serverLimits struct {
	readHeader, read, write, idle time.Duration
	maxHeaderBytes                int
	maxConns                      int // connections served at once; more wait to be accepted
}

// defaultLimits are generous for a browser on the same machine and short
// enough that a client which sends half a request and stops holds its
// connection seconds, not forever.
func defaultLimits() serverLimits {
	return serverLimits{
		readHeader:     10 * time.Second,
		read:           30 * time.Second,
		write:          60 * time.Second,
		idle:           60 * time.Second,
		maxHeaderBytes: 16 << 10,
		maxConns:       256,
	}
}

// Server is a running HTTP server of a Handler.
type Server struct {
	h    *Handler
	srv  *http.Server
	ln   *limitListener
	url  string
	done chan struct{}
}

// Listen starts serving h on addr and prints where to log (what names the
// page, as in "Dashboard"). addr "" means 127.0.0.1 on a free port; a bare
// port number means that port on 127.0.0.1. Any address other than a
// loopback one gets a plain warning, since the pages have no password.
//
// Every server has read, write and idle timeouts and serves at most 256
// connections at once, so that no client, however slow or numerous its
// connections, can freeze the pages for others or exhaust the process.
func Listen(addr string, h *Handler, log io.Writer, what string) (*Server, error) {
	return listen(addr, h, log, what, defaultLimits())
}

// listen is Listen with the limits given, so that tests can shorten them.
func listen(addr string, h *Handler, log io.Writer, what string, lim serverLimits) (*Server, error) {
	if err := CheckAddr(addr); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	addr = normalizeAddr(addr)
	tcp, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	ln := newLimitListener(tcp, lim.maxConns)
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	ip := net.ParseIP(host)
	h.loopback = ip != nil && ip.IsLoopback()
	urlHost := host
	if ip != nil && ip.IsUnspecified() {
		urlHost = "localhost"
	}
	s := &Server{
		h:  h,
		ln: ln,
		// The event streams outlive WriteTimeout and ReadTimeout: they
		// clear the read deadline and set a write deadline per event.
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: lim.readHeader,
			ReadTimeout:       lim.read,
			WriteTimeout:      lim.write,
			IdleTimeout:       lim.idle,
			MaxHeaderBytes:    lim.maxHeaderBytes,
		},
		url:  "http://" + net.JoinHostPort(urlHost, port) + "/",
		done: make(chan struct{}),
	}
	if log != nil {
		fmt.Fprintf(log, "%s: %s\n", what, s.url)
		if !h.loopback {
			where := "all network interfaces, port " + port
			if reqHost, _, err := net.SplitHostPort(addr); err == nil && reqHost != "" {
				where = net.JoinHostPort(reqHost, port)
			}
			fmt.Fprintf(log, "warning: the %s listens on %s, which other machines can reach; it has no password and shows this run's data\n",
				what, where)
		}
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && log != nil {
			fmt.Fprintf(log, "%s: %v\n", what, err)
		}
	}()
	return s, nil
}

// CheckAddr reports whether addr is an address Listen takes: "" (a free
// port on 127.0.0.1), a port number, HOST:PORT or :PORT, with a port from
// 0 to 65535. It does not resolve names or listen, so that a command can
// refuse a mistyped address before it loads data.
func CheckAddr(addr string) error {
	host, port, err := net.SplitHostPort(normalizeAddr(addr))
	if err != nil {
		return fmt.Errorf("address %q: want PORT, HOST:PORT or :PORT (such as 8080 or 127.0.0.1:8080)", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		if _, err := net.LookupPort("tcp", port); err != nil {
			return fmt.Errorf("address %q: port %q is not a number from 0 to 65535", addr, port)
		}
	}
	if strings.ContainsAny(host, " /\\") {
		return fmt.Errorf("address %q: %q is not a host name or IP address", addr, host)
	}
	return nil
}

// normalizeAddr turns "" into 127.0.0.1:0 and "8080" into 127.0.0.1:8080.
func normalizeAddr(addr string) string {
	if addr == "" {
		return "127.0.0.1:0"
	}
	if _, err := strconv.Atoi(addr); err == nil {
		return "127.0.0.1:" + addr
	}
	return addr
}

// URL returns the address of the page, such as http://127.0.0.1:41234/.
func (s *Server) URL() string { return s.url }

// Close ends the event streams and stops the server, waiting a little for
// requests in flight.
func (s *Server) Close() error {
	s.h.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	<-s.done
	return err
}

// Wait blocks until the server stops.
func (s *Server) Wait() { <-s.done }

// limitListener accepts at most cap(slots) connections at once: Accept
// waits for one to close before taking the next, which leaves the others
// in the kernel's backlog. (golang.org/x/net/netutil.LimitListener does
// the same; this avoids the dependency.)
type limitListener struct {
	net.Listener
	slots chan struct{}
	done  chan struct{}
	once  sync.Once
	open  atomic.Int64 // connections accepted and not yet closed
	peak  atomic.Int64 // the most open at once, for tests
}

func newLimitListener(l net.Listener, n int) *limitListener {
	return &limitListener{Listener: l, slots: make(chan struct{}, n), done: make(chan struct{})}
}

// Accept waits for a free slot, then for a connection.
func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	n := l.open.Add(1)
	for p := l.peak.Load(); n > p && !l.peak.CompareAndSwap(p, n); p = l.peak.Load() {
	}
	return &limitConn{Conn: c, release: func() { l.open.Add(-1); <-l.slots }}, nil
}

// Close stops accepting, also in an Accept waiting for a slot.
func (l *limitListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// limitConn frees its listener's slot when closed, once.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

// Close closes the connection and frees its slot.
func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
