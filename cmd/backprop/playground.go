package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/backprop-go/backprop/dashboard"
	"github.com/backprop-go/backprop/dashboard/playground"
)

func init() {
	register("playground", "watch a small network learn toy 2-D data, step by step, in the browser", runPlayground)
}

// runPlayground serves the playground page until interrupted.
func runPlayground(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("playground", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "", "address to listen on (default 127.0.0.1 on a free port)")
	data := fs.String("data", "circles", "starting data set: circles, xor, blobs, spiral or moons")
	seed := fs.Uint64("seed", 1, "random seed for the data and the initial weights")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "backprop playground: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if err := checkDashboardAddr("--addr", *addr); err != nil {
		return fail(stderr, "playground", err)
	}
	pg, err := dashboard.NewPlayground(playground.Config{Dataset: *data, Seed: *seed})
	if err != nil {
		return fail(stderr, "playground", usageError{err})
	}
	if err := serveUntilInterrupt(*addr, dashboard.NewHandler(nil, pg), stderr, "Playground"); err != nil {
		return fail(stderr, "playground", err)
	}
	return 0
}
