// Command backprop trains, evaluates and runs neural networks from the
// command line. Run `backprop help` for the commands.
package main

import (
	"fmt"
	"io"
	"os"
)

// command is one subcommand: its one-line summary and how to run it.
// run returns the process exit status.
type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

var commands = map[string]command{}

// defaultCommand runs when backprop is called with no arguments: training
// a CNN on MNIST.
const defaultCommand = "train"

// order lists the commands as `backprop help` shows them.
var order []string

func register(name, summary string, run func(args []string, stdout, stderr io.Writer) int) {
	commands[name] = command{summary: summary, run: run}
	order = append(order, name)
}

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}

func runMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		args = []string{defaultCommand}
	}
	name := args[0]
	if name == "help" || name == "-h" || name == "--help" {
		usage(stdout)
		return 0
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "backprop: unknown command %q\n\n", name)
		usage(stderr)
		return 2
	}
	return c.run(args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "backprop trains neural networks with backpropagation, in pure Go.")
	fmt.Fprintln(w, "\nUsage: backprop COMMAND [flags]\n\nCommands:")
	for _, n := range order {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun `backprop COMMAND -h` for a command's flags.")
}
