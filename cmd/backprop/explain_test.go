package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestExplainCommand(t *testing.T) {
	cases := []struct {
		args   []string
		status int
		want   string // in stdout (status 0) or stderr
	}{
		{[]string{}, 0, "3. Backward pass"},
		{[]string{"--lang", "math"}, 0, "∂E/∂p = 2·(p − y)"},
		{[]string{"--activation", "sigmoid", "--steps", "3"}, 0, "After 3 steps"},
		{[]string{"--lr", "NaN"}, 2, "learning rate"},
		{[]string{"--steps", "0"}, 2, "steps 0"},
		{[]string{"--activation", "softmax"}, 2, "activation"},
		{[]string{"--lang", "klingon"}, 2, "--lang"},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		if got := runExplain(c.args, &out, &errOut); got != c.status {
			t.Errorf("explain %v: status %d, want %d (stderr %q)", c.args, got, c.status, errOut.String())
			continue
		}
		text := out.String()
		if c.status != 0 {
			text = errOut.String()
		}
		if !strings.Contains(text, c.want) {
			t.Errorf("explain %v: output lacks %q", c.args, c.want)
		}
	}
}

func TestExplainJSON(t *testing.T) {
	var out, errOut bytes.Buffer
	if status := runExplain([]string{"--json", "--steps", "4"}, &out, &errOut); status != 0 {
		t.Fatalf("status %d: %s", status, errOut.String())
	}
	var story struct {
		Steps []struct {
			Error      float64 `json:"error"`
			ErrorAfter float64 `json:"error_after"`
			Weights    []struct {
				Old, Gradient, New float64
			}
		}
		Final []struct{ Says string }
	}
	if err := json.Unmarshal(out.Bytes(), &story); err != nil {
		t.Fatalf("--json is not JSON: %v", err)
	}
	if len(story.Steps) != 4 || len(story.Steps[0].Weights) != 9 || len(story.Final) != 4 {
		t.Fatalf("want 4 steps of 9 weights and 4 predictions, got %+v", story)
	}
	if s := story.Steps[0]; s.Error <= 0 || s.ErrorAfter >= s.Error {
		t.Errorf("step 1: error %g -> %g, want a positive error that falls", s.Error, s.ErrorAfter)
	}
}
