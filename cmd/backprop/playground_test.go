package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/backprop-go/backprop/dashboard/playground"
)

func TestPlaygroundCommandServesTheEngine(t *testing.T) {
	url := serve(t, "playground", "--data", "xor", "--seed", "4")
	resp, err := http.Get(url) // "/" redirects to the page
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "playground.js") {
		t.Fatalf("GET %s: %s, %.200q", url, resp.Status, page)
	}
	post := func(name, body string) playground.State {
		t.Helper()
		resp, err := http.Post(url+"api/playground/"+name, "application/json", bytes.NewBufferString(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("POST %s: %s: %s", name, resp.Status, b)
		}
		var s playground.State
		if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	var s playground.State
	getJSON(t, url+"api/playground/state", &s)
	if s.Config.Dataset != "xor" || s.Config.Seed != 4 || s.Step != 0 {
		t.Fatalf("state: %+v", s.Config)
	}
	if s = post("train", `{"steps": 7}`); s.Step != 7 {
		t.Errorf("after 7 steps the step count is %d", s.Step)
	}
	if s = post("advance", ``); s.Stage == nil || s.Stage.Name != "forward" {
		t.Errorf("advance: stage %+v", s.Stage)
	}
	if s = post("reset", `{"dataset": "spiral", "hidden": [8, 8, 4]}`); s.Step != 0 || len(s.Layers) != 4 {
		t.Errorf("reset: step %d, %d layers", s.Step, len(s.Layers))
	}
}
