// Command backprop trains, evaluates and runs neural networks from the
// command line. Run `backprop help` for the commands.
//
// Exit status: 0 success; 1 failure (a corrupt file, a diverged run, or an
// internal error, which is a bug); 2 usage error (a bad command, flag,
// spec or argument, or no command at all); 130 interrupted.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strings"
)

// command is one subcommand: its one-line summary and how to run it.
// run returns the process exit status.
type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

var commands = map[string]command{}

// order lists the commands as `backprop help` shows them.
var order []string

func register(name, summary string, run func(args []string, stdout, stderr io.Writer) int) {
	commands[name] = command{summary: summary, run: run}
	order = append(order, name)
}

// traceEnv names the environment variable that, set to anything but "" or
// "0", makes an internal error print its stack trace.
const traceEnv = "BACKPROP_TRACE"

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}

// runMain runs the command args name and returns the exit status. A panic
// in the command is a bug, not a usage error: it is reported in one line
// with status 1 (the stack only when BACKPROP_TRACE is set), never with the
// runtime's status 2 that scripts would read as a usage error.
func runMain(args []string, stdout, stderr io.Writer) (code int) {
	name := ""
	defer func() {
		if r := recover(); r != nil {
			code = internalError(stderr, name, r, debug.Stack())
		}
	}()
	if len(args) == 0 {
		// Bare backprop used to start a long MNIST run; a missing command
		// is a usage error, so the help goes to stderr with status 2.
		fmt.Fprintln(stderr, "backprop: no command given; choose one of those below (for example: backprop train --data mnist)")
		fmt.Fprintln(stderr)
		usage(stderr)
		return 2
	}
	name = args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		return runHelp(args[1:], stdout, stderr)
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "backprop: unknown command %q%s (backprop help lists the commands)\n", name, didYouMean(name, order, ""))
		return 2
	}
	return c.run(args[1:], stdout, stderr)
}

// runHelp prints the list of commands, or with a command name that
// command's usage and flags, on stdout.
func runHelp(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stdout)
		return 0
	}
	if len(args) > 1 {
		fmt.Fprintf(stderr, "backprop help: want at most one command, got %q (backprop help lists the commands)\n", strings.Join(args, " "))
		return 2
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "backprop help: unknown command %q%s (backprop help lists the commands)\n", args[0], didYouMean(args[0], order, ""))
		return 2
	}
	// Every command answers -h with its usage and status 0; both streams
	// go to stdout so that `backprop help CMD | less` shows it all.
	return c.run([]string{"-h"}, stdout, stdout)
}

// internalError reports a recovered panic and returns status 1.
func internalError(stderr io.Writer, cmd string, r any, stack []byte) int {
	who := "backprop"
	if _, ok := commands[cmd]; ok {
		who += " " + cmd
	}
	msg := strings.Join(strings.Fields(fmt.Sprint(r)), " ") // one line
	fmt.Fprintf(stderr, "%s: internal error: %s (this is a bug; please report it, with the output of %s=1 and the same command)\n", who, msg, traceEnv)
	if v := os.Getenv(traceEnv); v != "" && v != "0" {
		stderr.Write(stack)
	}
	return 1
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "backprop trains neural networks with backpropagation, in pure Go.")
	fmt.Fprintln(w, "\nUsage: backprop COMMAND [flags]\n\nCommands:")
	for _, n := range order {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun `backprop help COMMAND` (or `backprop COMMAND -h`) for a command's flags.")
}

// parseFlags parses a command's args into fs, whose name is the command's.
// It returns ok false, with the exit status to return, when the command
// must stop: 0 after -h or --help (the command's usage printed to fs's
// output), 2 after a mistake, reported on fs's output in one line that
// names the flag and, for an unknown flag, suggests the nearest defined
// one, instead of the flag package's error and full list of flags.
func parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	out, userUsage := fs.Output(), fs.Usage
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.SetOutput(out)
	fs.Usage = userUsage
	switch {
	case err == nil:
		return 0, true
	case errors.Is(err, flag.ErrHelp):
		fs.Usage()
		return 0, false
	}
	fmt.Fprintf(out, "backprop %s: %s (backprop help %s lists the flags)\n", fs.Name(), flagMessage(fs, err), fs.Name())
	return 2, false
}

// commandUsage sets fs's usage to the command's usage line, summary and
// flags (instead of the flag package's "Usage of NAME:").
func commandUsage(fs *flag.FlagSet) {
	fs.Usage = func() { defaultUsage(fs) }
}

// defaultUsage prints a command's usage line, summary and flags.
func defaultUsage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprintf(w, "Usage: backprop %s [flags]\n\n", fs.Name())
	if c, ok := commands[fs.Name()]; ok {
		fmt.Fprintf(w, "%s%s.\n\n", strings.ToUpper(c.summary[:1]), c.summary[1:])
	}
	fmt.Fprintln(w, "Flags:")
	fs.PrintDefaults()
}

// flagMessage rewrites the flag package's error in the command's own
// terms: --name, and a suggestion for an unknown flag.
func flagMessage(fs *flag.FlagSet, err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		name = strings.TrimLeft(name, "-")
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		return "unknown flag --" + name + didYouMean(name, names, "--")
	}
	if rest, ok := strings.CutPrefix(msg, "invalid boolean value "); ok {
		// Flags such as --dashboard may be given alone like a boolean but
		// take a value: their mistakes are not about booleans.
		if _, after, found := strings.Cut(rest, " for -"); found {
			name, _, _ := strings.Cut(after, ":")
			if f := fs.Lookup(name); f != nil {
				if _, isGetter := f.Value.(flag.Getter); !isGetter {
					msg = "invalid value " + rest
				}
			}
		}
	}
	for _, p := range []string{"for flag -", "for -", "argument: -"} {
		msg = strings.Replace(msg, p, p+"-", 1)
	}
	return msg
}

// didYouMean returns "; did you mean PREFIXX?" for the candidate nearest to
// name, or "" when none is near: an edit distance of at most a third of
// the name's length (at least 1), or a candidate the name is the start of
// (--batch for --batch-size).
func didYouMean(name string, candidates []string, prefix string) string {
	best, bestD := "", -1
	limit := max(len(name)/3, 1)
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted) // ties go to the first in order, whatever the map gave
	for _, c := range sorted {
		d := editDistance(name, c)
		if len(name) >= 3 && strings.HasPrefix(c, name) {
			d = min(d, limit)
		}
		if d <= limit && (bestD < 0 || d < bestD) {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return "; did you mean " + prefix + best + "?"
}

// editDistance is the optimal-string-alignment distance between a and b,
// in bytes (flag and command names are ASCII): the insertions, deletions,
// substitutions and swaps of neighbours that turn one into the other, so
// that the common typo "trian" is one edit from "train".
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
