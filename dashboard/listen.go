package dashboard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Server is a running HTTP server of a Handler.
type Server struct {
	h    *Handler
	srv  *http.Server
	ln   net.Listener
	url  string
	done chan struct{}
}

// Listen starts serving h on addr and prints where to log (what names the
// page, as in "Dashboard"). addr "" means 127.0.0.1 on a free port; a bare
// port number means that port on 127.0.0.1. Any address other than a
// loopback one gets a plain warning, since the pages have no password.
func Listen(addr string, h *Handler, log io.Writer, what string) (*Server, error) {
	addr = normalizeAddr(addr)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
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
		// No WriteTimeout: event streams last as long as the page is open.
		srv:  &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
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
