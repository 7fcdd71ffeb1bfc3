package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/nn"
)

func init() {
	register("summary", "print a model's layers, output shapes and parameter counts", runSummary)
}

func runSummary(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("summary", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: backprop summary SPEC|CHECKPOINT [flags]\n\nSPEC is an architecture (mlp, cnn, gpt, lstm, or layer tokens such as \"conv(32,3,pad=1) relu maxpool(2) flatten linear(10)\").\nThe text presets gpt and lstm are shown for --context tokens over a vocabulary of --vocab (bytes: 256).\n\nFlags:")
		fs.PrintDefaults()
	}
	shape := fs.String("input-shape", "1,28,28", "the shape of one sample, for a SPEC")
	classes := fs.Int("classes", 10, "outputs of the mlp and cnn presets")
	context := fs.Int("context", data.DefaultTextContext, "gpt and lstm: input tokens per window")
	vocab := fs.Int("vocab", data.TextVocabulary, "gpt and lstm: the vocabulary (256 for byte tokens)")
	if code, ok := parseFlags(fs, reorder(args)); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	target := fs.Arg(0)
	if _, err := os.Stat(checkpointPath(target)); err == nil {
		m, err := loadSaved(target)
		if err != nil {
			return fail(stderr, "summary", err)
		}
		return printSummary(stdout, stderr, m.path, m.model, m.shape)
	}
	s, err := parseInts(*shape)
	if err != nil {
		return fail(stderr, "summary", usagef("--input-shape: %v", err))
	}
	var text *textSpec
	if languageModel(target) {
		if *context < 1 || *context > data.MaxTextContext || *vocab < 1 || *vocab > data.MaxCharVocabulary {
			return fail(stderr, "summary", usagef("--context %d and --vocab %d: want 1 to %d tokens and 1 to %d ids", *context, *vocab, data.MaxTextContext, data.MaxCharVocabulary))
		}
		text, s = &textSpec{Context: *context, Vocab: *vocab}, []int{*context}
	}
	names := make([]string, *classes)
	for i := range names {
		names[i] = fmt.Sprint(i)
	}
	arch, err := architecture(target, &dataSource{shape: s, classes: names, text: text})
	if err != nil {
		return fail(stderr, "summary", err)
	}
	model, err := nn.Build(arch, s)
	if err != nil {
		return fail(stderr, "summary", usageError{err})
	}
	return printSummary(stdout, stderr, arch, model, s)
}

func printSummary(stdout, stderr io.Writer, title string, model nn.Module, shape []int) int {
	text, err := nn.Summary(model, shape)
	if err != nil {
		return fail(stderr, "summary", err)
	}
	fmt.Fprintf(stdout, "%s\n\n%s", title, text)
	return 0
}
