package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/nn"
)

func init() {
	register("generate", "write text with a trained language model: backprop generate RUN --prompt TEXT", runGenerate)
}

// maxGenerateTokens bounds --tokens.
const maxGenerateTokens = 1_000_000

func runGenerate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("generate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: backprop generate RUN [flags]\n\nRUN is a directory written by backprop train on a text (or its checkpoint file).\nThe prompt, then each new token as it is drawn, is written to stdout; Ctrl-C stops.\n\nFlags:")
		fs.PrintDefaults()
	}
	prompt := fs.String("prompt", "\n", "the text to continue (at least one character)")
	tokens := fs.Int("tokens", 200, fmt.Sprintf("tokens to generate, 1 to %d", maxGenerateTokens))
	temperature := fs.Float64("temperature", 0.8, "sampling temperature, ≥ 0: 0 always takes the most likely token (greedy), higher is more varied")
	topK := fs.Int("top-k", 0, "draw only among the K most likely tokens (0: all)")
	seed := fs.Uint64("seed", 1, "random seed: the same seed, prompt and model write the same text")
	noCache := fs.Bool("no-cache", false, "re-run the model over the whole context for every token instead of stepping it with a key-value cache (slower; the same text)")
	threads := fs.Int("threads", 0, fmt.Sprintf("CPU threads, at most %d here (default: all CPUs)", maxThreads()))
	quiet := fs.Bool("quiet", false, "no speed report on stderr")
	if code, ok := parseFlags(fs, reorder(args)); !ok {
		return code
	}
	switch {
	case fs.NArg() != 1:
		fmt.Fprintln(stderr, "backprop generate: want one RUN directory (backprop generate RUN --prompt TEXT; backprop help generate lists the flags)")
		return 2
	case *prompt == "":
		return fail(stderr, "generate", usagef("--prompt is empty: give at least one character to continue"))
	case *tokens < 1 || *tokens > maxGenerateTokens:
		return fail(stderr, "generate", usagef("--tokens %d: want 1 to %d", *tokens, maxGenerateTokens))
	case !(*temperature >= 0) || math.IsInf(*temperature, 0):
		return fail(stderr, "generate", usagef("--temperature %v: want a number ≥ 0 (0 is greedy)", *temperature))
	case *topK < 0:
		return fail(stderr, "generate", usagef("--top-k %d: want 0 (all tokens) or more", *topK))
	}
	if err := checkThreads(*threads); err != nil {
		return fail(stderr, "generate", err)
	}
	if *threads > 0 {
		runtime.GOMAXPROCS(*threads)
	}
	if _, err := os.Stat(checkpointPath(fs.Arg(0))); err != nil {
		return fail(stderr, "generate", usagef("%s: no checkpoint there: give the directory of a run of backprop train on a text (its --out)", fs.Arg(0)))
	}
	m, err := loadSaved(fs.Arg(0))
	if err != nil {
		return fail(stderr, "generate", err)
	}
	if m.text == nil {
		return fail(stderr, "generate", usagef("%s is not a language model (it was not trained on a text): backprop predict runs it", m.path))
	}
	vocab, err := m.text.vocabulary()
	if err != nil {
		return fail(stderr, "generate", err)
	}
	opts := nn.GeneratorOptions{NoCache: *noCache}
	if *noCache {
		opts.Context = m.text.Context // a recurrent model would otherwise re-run the whole text
	}
	gen, err := nn.NewGenerator(m.model, opts)
	if err != nil && !*noCache {
		// A stack with a layer that has no step-by-step form still
		// generates, by running the whole context for each token.
		opts = nn.GeneratorOptions{NoCache: true, Context: m.text.Context}
		if g, err2 := nn.NewGenerator(m.model, opts); err2 == nil {
			fmt.Fprintf(stderr, "backprop generate: no key-value cache for this model (%v); running the whole context for each token\n", err)
			gen, err, *noCache = g, nil, true
		}
	}
	if err != nil {
		return fail(stderr, "generate", err)
	}
	ids := m.text.encode(*prompt, vocab)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	w := &textWriter{w: stdout, dec: data.NewTextDecoder(vocab)}
	if _, err := io.WriteString(stdout, *prompt); err != nil {
		return fail(stderr, "generate", err)
	}
	flush(stdout)
	started := time.Now()
	n := 0
	err = gen.Generate(ctx, ids, *tokens, nn.Sampling{Temperature: *temperature, TopK: *topK, Seed: *seed}, func(tok int64) error {
		n++
		return w.token(tok)
	})
	elapsed := time.Since(started)
	werr := w.close()
	switch {
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(stderr, "\nbackprop generate: interrupted after %d tokens\n", n)
		return 130
	case err != nil:
		return fail(stderr, "generate", err)
	case werr != nil:
		return fail(stderr, "generate", werr)
	}
	if !*quiet {
		mode := "key-value cache"
		if *noCache {
			mode = "no cache"
		}
		fmt.Fprintf(stderr, "%d tokens in %.2f s: %.1f tokens/s (%s, prompt of %d tokens)\n", n, elapsed.Seconds(), float64(n)/elapsed.Seconds(), mode, len(ids))
	}
	return 0
}

// textWriter writes tokens as text, one write per token so that the text
// streams; its decoder keeps the output valid UTF-8.
type textWriter struct {
	w   io.Writer
	dec *data.TextDecoder
}

func (t *textWriter) token(tok int64) error {
	if out := t.dec.Token(tok); len(out) > 0 {
		return t.write(out)
	}
	return nil
}

func (t *textWriter) write(b []byte) error {
	if _, err := t.w.Write(b); err != nil {
		return err
	}
	flush(t.w)
	return nil
}

// close writes what is still held (an incomplete character, as U+FFFD)
// and ends the text with a newline.
func (t *textWriter) close() error {
	return t.write(append(t.dec.Flush(), '\n'))
}

// flush flushes w when it buffers (os.Stdout does not).
func flush(w io.Writer) {
	if f, ok := w.(interface{ Flush() error }); ok {
		f.Flush()
	}
}
