package main

import (
	"testing"
)

// BenchmarkLMStep times W-LM training steps of both presets on the Go
// source text (profile with -cpuprofile).
func BenchmarkLMStep(b *testing.B) {
	text, err := goSourceText()
	if err != nil {
		b.Skip(err)
	}
	for _, kind := range []string{"gpt", "lstm"} {
		b.Run(kind, func(b *testing.B) {
			for b.Loop() {
				if _, err := benchLM(kind, text[:20000], 3, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
