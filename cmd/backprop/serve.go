package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/backprop-go/backprop/dashboard"
	bpserve "github.com/backprop-go/backprop/serve"
)

func init() {
	register("serve", "answer predictions of a trained model over HTTP, batching concurrent requests", runServe)
}

// tokenEnv names the environment variable that gives serve's bearer token
// when --token is not set.
const tokenEnv = "BACKPROP_SERVE_TOKEN"

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, `Usage: backprop serve CHECKPOINT [flags]

CHECKPOINT is a directory written by backprop train, or its checkpoint file.
Endpoints: POST /v1/predict (an image, CSV rows, or JSON {"rows": [...]} or
{"inputs": [...]}; ?top=K), POST /v1/generate for a model trained on a text
(JSON {"prompt", "tokens", "temperature", "top_k", "seed"}; streams lines of
JSON as the tokens come), GET /v1/model, GET /healthz, GET /metrics.
Concurrent requests are batched into one forward pass. The server listens on
127.0.0.1 unless --addr says otherwise; any other address needs a bearer
token (--token or `+tokenEnv+`), which then every request but /healthz must
send as "Authorization: Bearer TOKEN". SIGINT or SIGTERM stops it after the
requests in flight have been answered.

Flags:`)
		fs.PrintDefaults()
	}
	var c bpserve.Config
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on: PORT, HOST:PORT or :PORT (all interfaces; needs a token)")
	fs.IntVar(&c.MaxBatch, "max-batch", 32, "most inputs per forward pass")
	fs.DurationVar(&c.MaxWait, "max-wait", 2*time.Millisecond, "longest a batch waits for more requests (0: send at once)")
	fs.IntVar(&c.Workers, "workers", 0, "goroutines running forward passes (0: one per CPU)")
	token := fs.String("token", "", "bearer token required on every request but /healthz (default $"+tokenEnv+")")
	fs.Int64Var(&c.MaxBodyBytes, "max-body", bpserve.DefaultMaxBodyBytes, "largest request body in bytes")
	fs.IntVar(&c.MaxRows, "max-rows", 1024, "most inputs in one request")
	fs.Var(maxPixelsFlag(&c.MaxPixels), "max-pixels", maxPixelsUsage)
	if code, ok := parseFlags(fs, reorder(args)); !ok {
		return code
	}
	switch {
	case fs.NArg() != 1:
		fs.Usage()
		return 2
	case c.MaxBatch < 1:
		return fail(stderr, "serve", usagef("--max-batch %d: want at least 1", c.MaxBatch))
	case c.MaxWait < 0:
		return fail(stderr, "serve", usagef("--max-wait %v: want 0 or more", c.MaxWait))
	case c.Workers < 0:
		return fail(stderr, "serve", usagef("--workers %d: want 0 (one per CPU) or more", c.Workers))
	case c.MaxBodyBytes < 1:
		return fail(stderr, "serve", usagef("--max-body %d: want at least 1 byte", c.MaxBodyBytes))
	case c.MaxRows < 1:
		return fail(stderr, "serve", usagef("--max-rows %d: want at least 1", c.MaxRows))
	}
	if c.MaxWait == 0 {
		c.MaxWait = -1 // the flag's 0 is "do not wait"; Config's 0 is the default
	}
	c.Token = *token
	if c.Token == "" {
		c.Token = os.Getenv(tokenEnv)
	}
	host, err := serveHost(*addr)
	if err != nil {
		return fail(stderr, "serve", err)
	}
	loopback := isLoopback(host)
	if !loopback && c.Token == "" {
		return fail(stderr, "serve", usagef("--addr %s is not a loopback address: anyone who can reach it could use the model, so set a token (--token or %s)", *addr, tokenEnv))
	}
	m, err := loadSaved(fs.Arg(0))
	if err != nil {
		return fail(stderr, "serve", err)
	}
	model := bpserve.Model{Module: m.model, Arch: m.arch, InputShape: m.shape, Classes: m.classes, Image: m.image, CSV: m.csv}
	if m.text != nil {
		vocab, err := m.text.vocabulary()
		if err != nil {
			return fail(stderr, "serve", err)
		}
		model.Classes = nil
		model.Language = &bpserve.LanguageModel{Vocabulary: vocab, Context: m.text.Context}
	}
	srv, err := bpserve.New(model, c)
	if err != nil {
		return fail(stderr, "serve", err)
	}
	// The signals are caught before the address is printed, so that an
	// interrupt sent as soon as a caller reads it shuts down gracefully.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, portOf(*addr)))
	if err != nil {
		srv.Close()
		return fail(stderr, "serve", err)
	}
	if !loopback {
		fmt.Fprintf(stderr, "backprop serve: warning: listening on %s, not a loopback address: requests from other machines are answered (with the token)\n", ln.Addr())
	}
	fmt.Fprintf(stdout, "Listening on http://%s/ (%s)\n", ln.Addr(), m.path)
	if err := srv.Serve(ctx, ln); err != nil {
		return fail(stderr, "serve", err)
	}
	fmt.Fprintln(stderr, "backprop serve: stopped")
	return 0
}

// serveHost checks --addr as the dashboard does and returns its host:
// 127.0.0.1 for a bare port, "" for :PORT (all interfaces).
func serveHost(addr string) (string, error) {
	if err := dashboard.CheckAddr(addr); err != nil {
		return "", usagef("--addr: %v", err)
	}
	if _, err := strconv.Atoi(addr); err == nil {
		return "127.0.0.1", nil
	}
	host, _, _ := net.SplitHostPort(addr)
	return host, nil
}

// portOf returns the port of an address CheckAddr accepted.
func portOf(addr string) string {
	if _, err := strconv.Atoi(addr); err == nil {
		return addr
	}
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// isLoopback reports whether host names only this machine: localhost or a
// loopback IP. "" (all interfaces) and any other name are not.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
