package dashboard

import (
	"bufio"
	"context"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/optim"
	"github.com/backprop-go/backprop/train"
)

// digits is an MNIST-sized stand-in (1×28×28, 10 classes) whose samples
// cost next to nothing to make, so that the benchmark times training and
// the dashboard, not data generation.
type digits struct{ n int }

func (d digits) Len() int          { return d.n }
func (d digits) Shape() []int      { return []int{1, 28, 28} }
func (d digits) Classes() []string { return []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"} }
func (d digits) TargetSize() int   { return 0 }
func (d digits) Sample(i int, _ *rand.Rand, x, _ []float32) (int, error) {
	label := i % 10
	s := uint32(i)*2654435761 + 1
	for p := range x {
		s = s*1664525 + 1013904223
		x[p] = float32(s>>24) / 512
	}
	for j := range 28 {
		x[j*28+label*2+4] += 1 // a vertical bar whose place is the class
	}
	return label, nil
}

// BenchmarkFitDashboard times one training epoch of the mlp preset
// (784-256-128-10, SGD with momentum, batches of 64) on an MNIST-sized
// epoch of 60,000 samples with a validation set of 2,000: without the
// dashboard (off), with it (on), and with it and a browser-like client
// reading the event stream (on+client). The MLP's steps are cheaper than
// the CNN's, so the dashboard's share of the time is larger here than with
// the default model.
//
//	go test ./dashboard/ -run '^$' -bench FitDashboard -benchtime 3x -count 5
func BenchmarkFitDashboard(b *testing.B) {
	ds, val := digits{n: 60000}, digits{n: 2000}
	for _, mode := range []string{"off", "on", "on+client"} {
		b.Run(mode, func(b *testing.B) {
			var inCallbacks, total, cpu time.Duration
			defer func() {
				// The dashboard's own time in the training goroutine, and
				// the process's CPU time (the server's goroutines
				// included): figures that other load on the machine
				// disturbs less than the wall-clock time per epoch.
				b.ReportMetric(100*float64(inCallbacks)/float64(total), "%in-callbacks")
				b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
			}()
			for range b.N {
				b.StopTimer()
				model, err := nn.Build("flatten linear(256) relu linear(128) relu linear(10)", ds.Shape(), nn.Seed(1))
				if err != nil {
					b.Fatal(err)
				}
				opt := optim.SGD(nn.Parameters(model), optim.LR(0.05), optim.Momentum(0.9))
				var cbs []train.Callback
				var live *Live
				cancel := func() {}
				if mode != "off" {
					live, err = Start(Run{Model: model, Arch: "mlp", Shape: ds.Shape(), Classes: ds.Classes(), Eval: val, OutDir: b.TempDir()})
					if err != nil {
						b.Fatal(err)
					}
					cbs = append(cbs, timed{live, &inCallbacks})
					if mode == "on+client" {
						cancel = stream(live.URL())
					}
				}
				b.StartTimer()
				began, cpu0 := time.Now(), cpuTime()
				_, err = train.Fit(context.Background(), model, ds, train.Config{Epochs: 1, BatchSize: 64, Seed: 1, Optimizer: opt, Val: val, Callbacks: cbs})
				b.StopTimer()
				total += time.Since(began)
				cpu += cpuTime() - cpu0
				if err != nil {
					b.Fatal(err)
				}
				cancel()
				if live != nil {
					live.Close()
				}
			}
		})
	}
}

// stream reads the dashboard's event stream in the background, as an
// open browser tab does, until cancelled.
func stream(url string) (cancel func()) {
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", url+"api/events", nil)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<26)
		for sc.Scan() {
		}
	}()
	return cancel
}

// timed measures the time a callback takes.
type timed struct {
	cb    train.Callback
	spent *time.Duration
}

func (t timed) OnStep(s train.StepInfo) {
	start := time.Now()
	t.cb.OnStep(s)
	*t.spent += time.Since(start)
}

func (t timed) OnEpoch(e train.EpochStats) {
	start := time.Now()
	t.cb.OnEpoch(e)
	*t.spent += time.Since(start)
}
