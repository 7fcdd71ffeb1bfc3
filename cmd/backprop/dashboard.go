package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/backprop-go/backprop/dashboard"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/train"
)

func init() {
	register("dashboard", "reopen the dashboard of a finished run: backprop dashboard DIR", runDashboard)
	startDashboard = startLiveDashboard
}

// startLiveDashboard is train --dashboard's hook: it serves the live
// dashboard of the run and returns its callback and its closer.
func startLiveDashboard(r dashboardRun) (train.Callback, func(), error) {
	live, err := dashboard.Start(dashboard.Run{Addr: r.Addr, OutDir: r.OutDir, Model: r.Model, Arch: r.Arch, Shape: r.Shape,
		Classes: r.Classes, Eval: r.Eval, Log: r.Log, ResumeStep: r.ResumeStep})
	if err != nil {
		return nil, nil, err
	}
	return live, live.Close, nil
}

// checkDashboardAddr refuses an address the dashboard could not listen
// on, as a usage error naming the flag, so that train --dashboard=ADDR
// fails before it loads any data.
func checkDashboardAddr(flag, addr string) error {
	if err := dashboard.CheckAddr(addr); err != nil {
		return usagef("%s: %v", flag, err)
	}
	return nil
}

// serveUntilInterrupt listens on addr with h and serves until SIGINT or
// SIGTERM. The signals are caught before the address is printed, so an
// interrupt sent as soon as a caller reads the address ends the command
// cleanly (status 0) rather than killing it.
func serveUntilInterrupt(addr string, h *dashboard.Handler, stderr io.Writer, what string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := dashboard.Listen(addr, h, stderr, what)
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Fprintln(stderr, "Press Ctrl-C to stop.")
	<-ctx.Done()
	return nil
}

// runDashboard serves the saved dashboard of a --out directory until
// interrupted.
func runDashboard(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dashboard", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: backprop dashboard [--addr ADDR] DIR\n\nServes the dashboard of the training run saved in DIR (the --out directory of backprop train).")
		fs.PrintDefaults()
	}
	addr := fs.String("addr", "", "address to listen on (default 127.0.0.1 on a free port)")
	if code, ok := parseFlags(fs, reorder(args)); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	if err := checkDashboardAddr("--addr", *addr); err != nil {
		return fail(stderr, "dashboard", err)
	}
	dir := fs.Arg(0)
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return fail(stderr, "dashboard", usagef("%s is not a directory: give the --out directory of a training run", dir))
	}
	// The checkpoint, when it is there, supplies the architecture and the
	// weights for runs trained without --dashboard.
	var model nn.Module
	var arch string
	var shape []int
	var classes []string
	if _, err := os.Stat(filepath.Join(dir, train.CheckpointFile)); err == nil {
		m, err := loadSaved(dir)
		if err != nil {
			// The run's figures are still worth showing; say why the
			// weights and architecture are not.
			fmt.Fprintf(stderr, "backprop dashboard: warning: %v; showing the run without its model\n", err)
		} else {
			model, arch, shape, classes = m.model, m.arch, m.shape, m.classes
		}
	}
	rec, err := dashboard.Load(dir, model, arch, shape, classes)
	if err != nil {
		return fail(stderr, "dashboard", err)
	}
	if err := serveUntilInterrupt(*addr, dashboard.NewHandler(rec, nil), stderr, "Dashboard"); err != nil {
		return fail(stderr, "dashboard", err)
	}
	return 0
}
