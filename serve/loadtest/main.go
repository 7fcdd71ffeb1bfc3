// Command loadtest fires requests at a backprop serve and checks every
// answer against what backprop predict --json printed for the same input:
//
//	backprop predict --json --top 3 RUN digit.png > want.json
//	go run ./serve/loadtest -addr 127.0.0.1:8080 -n 20000 -c 32 -input digit.png -expect want.json
//
// It stops after -n requests and prints the latency percentiles and the
// throughput; it exits 1 if any request failed or any answer differed.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// prediction is one input's answer, from serve or predict --json.
type prediction struct {
	Top []struct {
		Class       string
		Probability float64
	} `json:"top"`
	Value []float64 `json:"value"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address of backprop serve")
	n := flag.Int("n", 20000, "requests in all")
	c := flag.Int("c", 32, "requests in flight at once")
	input := flag.String("input", "", "file to post: an image, or CSV rows (.csv)")
	expect := flag.String("expect", "", "output of backprop predict --json for the same input")
	top := flag.Int("top", 3, "classes per answer (as predict's --top)")
	token := flag.String("token", os.Getenv("BACKPROP_SERVE_TOKEN"), "bearer token")
	tol := flag.Float64("tol", 0, "largest difference allowed from the expected numbers (0: equal)")
	flag.Parse()
	if *input == "" || *expect == "" || *n < 1 || *c < 1 {
		fmt.Fprintln(os.Stderr, "loadtest: want -input FILE -expect FILE, -n and -c at least 1")
		os.Exit(2)
	}
	body, err := os.ReadFile(*input)
	check(err)
	var want []prediction
	raw, err := os.ReadFile(*expect)
	check(err)
	check(json.Unmarshal(raw, &want))
	ctype := "application/octet-stream"
	if strings.EqualFold(filepath.Ext(*input), ".csv") {
		ctype = "text/csv"
	}
	url := fmt.Sprintf("http://%s/v1/predict?top=%d", *addr, *top)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *c}, Timeout: 30 * time.Second}

	var next, failed, differ atomic.Int64
	lat := make([]time.Duration, *n)
	var firstErr sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for range *c {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(*n) {
					return
				}
				t0 := time.Now()
				got, err := post(client, url, ctype, *token, body)
				lat[i] = time.Since(t0)
				if err != nil {
					failed.Add(1)
					firstErr.Do(func() { fmt.Fprintln(os.Stderr, "loadtest: first error:", err) })
					continue
				}
				if !same(got, want, *tol) {
					if differ.Add(1) == 1 {
						fmt.Fprintf(os.Stderr, "loadtest: first differing answer: %+v, want %+v\n", got, want)
					}
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	fmt.Printf("%d requests at concurrency %d in %.2f s: %.0f requests/s; latency p50 %.2f ms, p99 %.2f ms, max %.2f ms; %d failed, %d differed from predict\n",
		*n, *c, elapsed.Seconds(), float64(*n)/elapsed.Seconds(), ms(pct(0.50)), ms(pct(0.99)), ms(lat[len(lat)-1]), failed.Load(), differ.Load())
	if failed.Load() > 0 || differ.Load() > 0 {
		os.Exit(1)
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func post(client *http.Client, url, ctype, token string, body []byte) ([]prediction, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", ctype)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", resp.Status, b)
	}
	var r struct{ Predictions []prediction }
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return r.Predictions, nil
}

func same(got, want []prediction, tol float64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g, w := got[i], want[i]
		if len(g.Top) != len(w.Top) || len(g.Value) != len(w.Value) {
			return false
		}
		for j := range g.Top {
			if g.Top[j].Class != w.Top[j].Class || math.Abs(g.Top[j].Probability-w.Top[j].Probability) > tol {
				return false
			}
		}
		for j := range g.Value {
			if math.Abs(g.Value[j]-w.Value[j]) > tol*math.Max(1, math.Abs(w.Value[j])) {
				return false
			}
		}
	}
	return true
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}
