package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/optim"
	"github.com/backprop-go/backprop/tensor"
)

// concData is a generated classification set for the concurrency test:
// each sample is a seeded random pattern plus a class-dependent offset, so
// that the models have something to learn.
type concData struct {
	shape   []int
	classes int
	x       [][]float32
}

func newConcData(n, classes int, shape []int, seed uint64) *concData {
	r := rand.New(rand.NewPCG(seed, 3))
	size := 1
	for _, s := range shape {
		size *= s
	}
	d := &concData{shape: shape, classes: classes}
	for i := range n {
		x := make([]float32, size)
		for j := range x {
			x[j] = float32(r.NormFloat64()) + float32(i%classes)*float32(j%3-1)
		}
		d.x = append(d.x, x)
	}
	return d
}

func (d *concData) Len() int        { return len(d.x) }
func (d *concData) Shape() []int    { return d.shape }
func (d *concData) TargetSize() int { return 0 }
func (d *concData) Classes() []string {
	names := make([]string, d.classes)
	for i := range names {
		names[i] = fmt.Sprint(i)
	}
	return names
}
func (d *concData) Sample(i int, _ *rand.Rand, x, _ []float32) (int, error) {
	copy(x, d.x[i])
	return i % d.classes, nil
}

// concArch is a model of the concurrency test.
type concArch struct {
	name, spec string
	shape      []int
}

var concArchs = []concArch{
	{"MLP", "linear(16) tanh dropout(0.1) linear(12) relu linear(3)", []int{6}},
	{"CNN", "conv(4,3,pad=1) batchnorm relu maxpool(2) conv(6,3,pad=1) batchnorm relu flatten linear(3)", []int{1, 8, 8}},
}

func (a concArch) build(t *testing.T, seed uint64) nn.Module {
	t.Helper()
	m, err := nn.Build(a.spec, a.shape, nn.Seed(seed))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// concFit trains a fresh model of arch a (seed 7) on ds and returns it.
func concFit(t *testing.T, a concArch, ds *concData, epochs int) nn.Module {
	m := a.build(t, 7)
	_, err := Fit(context.Background(), m, ds, Config{
		Epochs: epochs, BatchSize: 16, Seed: 5, Workers: 2,
		Optimizer: optim.Adam(nn.Parameters(m), optim.LR(0.01)),
	})
	if err != nil {
		t.Error(err)
	}
	return m
}

// concState snapshots m's state dict (weights and buffers) as bit patterns.
func concState(m nn.Module) map[string][]uint32 {
	out := map[string][]uint32{}
	for name, tt := range nn.StateDict(m) {
		bits := make([]uint32, tt.Size())
		for i, v := range tt.Data() {
			bits[i] = math.Float32bits(v)
		}
		out[name] = bits
	}
	return out
}

// concDiff names the state-dict entries where a and b differ.
func concDiff(a, b map[string][]uint32) []string {
	var diff []string
	for name, av := range a {
		bv, ok := b[name]
		if !ok || len(av) != len(bv) {
			diff = append(diff, name)
			continue
		}
		for i := range av {
			if av[i] != bv[i] {
				diff = append(diff, fmt.Sprintf("%s[%d]", name, i))
				break
			}
		}
	}
	sort.Strings(diff)
	return diff
}

// TestConcurrentTrainingAndInference trains a model in one goroutine (with
// train.Fit, whose loader runs goroutines of its own) while other
// goroutines run inference thousands of times on other models, with
// parameters that require gradients, and on a frozen copy of the same
// architecture loaded with the trained model's initial state dict. The
// trained weights must be bit-identical to a solo run of the same training;
// the inference models must give the same outputs every time, get no
// gradients and keep their buffers; nothing may panic; and the test must be
// clean under the race detector (go test -race ./train/ -run Concurrent).
//
// With the old process-wide NoGrad switch, the trainer's ops recorded no
// graph while an inference goroutine was inside NoGrad, so Backward
// panicked or left parameters without gradients.
func TestConcurrentTrainingAndInference(t *testing.T) {
	epochs, passes := 20, 1500 // 16 steps an epoch: 320 steps, 6,000 inference passes per architecture
	if testing.Short() || raceEnabled {
		epochs, passes = 3, 150
	}
	for _, a := range concArchs {
		t.Run(a.name, func(t *testing.T) {
			ds := newConcData(256, 3, a.shape, 11)
			solo := concState(concFit(t, a, ds, epochs))

			trained := a.build(t, 7)
			// A frozen clone of the model about to be trained: its own
			// copy of the weights, no gradients, evaluation mode kept, so
			// that its BatchNorm keeps its running statistics.
			frozenCopy := func() nn.Module {
				m := nn.Clone(trained)
				nn.Freeze(m)
				return m
			}
			// Two goroutines share frozen (Forward only reads it); Evaluate
			// sets its model's mode, so it gets a copy of its own.
			frozen, evalCopy := frozenCopy(), frozenCopy()
			frozenState := concState(frozen)
			if d := concDiff(frozenState, solo); len(d) == 0 {
				t.Fatal("the solo run left the initial weights unchanged: the test would prove nothing")
			}
			// Other models whose parameters require gradients: inference
			// from NoGraph inputs must leave those gradients alone.
			others := []nn.Module{concArchs[0].build(t, 21), concArchs[1].build(t, 22)}
			for _, m := range others {
				nn.Eval(m)
			}
			otherStates := []map[string][]uint32{concState(others[0]), concState(others[1])}

			type infer struct {
				name  string
				model nn.Module
				arch  concArch
				input func(*tensor.Tensor) *ag.Value
			}
			jobs := []infer{
				{"frozen copy, NoGraph input", frozen, a, ag.NoGraph},
				{"frozen copy, Const input", frozen, a, ag.Const},
				{"other MLP", others[0], concArchs[0], ag.NoGraph},
				{"other CNN", others[1], concArchs[1], ag.NoGraph},
			}
			var wg sync.WaitGroup
			errs := make(chan error, len(jobs)+1)
			start := make(chan struct{})
			run := func(name string, f func() error) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer func() {
						if r := recover(); r != nil {
							errs <- fmt.Errorf("%s: panic: %v", name, r)
						}
					}()
					<-start
					if err := f(); err != nil {
						errs <- fmt.Errorf("%s: %w", name, err)
					}
				}()
			}
			for j, job := range jobs {
				run(job.name, func() error {
					r := rand.New(rand.NewPCG(uint64(j), 9))
					x := tensor.FromFunc(func(int) float32 { return float32(r.NormFloat64()) }, append([]int{4}, job.arch.shape...)...)
					var first []float32
					for i := range passes {
						y := job.model.Forward(job.input(x))
						if y.RequiresGrad() {
							return fmt.Errorf("pass %d: the output requires a gradient: a graph was built", i)
						}
						if first == nil {
							first = append([]float32(nil), y.Data.Data()...)
							continue
						}
						for k, v := range y.Data.Data() {
							if math.Float32bits(v) != math.Float32bits(first[k]) {
								return fmt.Errorf("pass %d: output %d is %v, first pass %v", i, k, v, first[k])
							}
						}
					}
					return nil
				})
			}
			// Evaluate, the library's own inference path, on a frozen copy.
			run("Evaluate on a frozen copy", func() error {
				var first Result
				for i := range max(passes/50, 3) {
					res, err := Evaluate(evalCopy, ds, EvalConfig{BatchSize: 64, Workers: 1})
					if err != nil {
						return err
					}
					if i == 0 {
						first = res
					} else if res.Loss != first.Loss || res.Accuracy != first.Accuracy {
						return fmt.Errorf("run %d: loss %v accuracy %v, first run %v %v", i, res.Loss, res.Accuracy, first.Loss, first.Accuracy)
					}
				}
				return nil
			})
			var trainErr error
			steps := 0
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() {
					if r := recover(); r != nil {
						trainErr = fmt.Errorf("trainer: panic: %v", r)
					}
				}()
				<-start
				_, trainErr = Fit(context.Background(), trained, ds, Config{
					Epochs: epochs, BatchSize: 16, Seed: 5, Workers: 2,
					Optimizer: optim.Adam(nn.Parameters(trained), optim.LR(0.01)),
					Callbacks: []Callback{CallbackFuncs{Step: func(StepInfo) { steps++ }}},
				})
			}()
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if trainErr != nil {
				t.Fatal(trainErr)
			}
			if want := epochs * ds.Len() / 16; steps != want {
				t.Errorf("the trainer took %d steps, want %d", steps, want)
			}
			if d := concDiff(solo, concState(trained)); len(d) > 0 {
				t.Errorf("trained beside inference, the state differs from the solo run at %v", d)
			}
			for _, m := range []nn.Module{frozen, evalCopy} {
				if d := concDiff(frozenState, concState(m)); len(d) > 0 {
					t.Errorf("a frozen copy's state changed at %v", d)
				}
			}
			for i, m := range others {
				if d := concDiff(otherStates[i], concState(m)); len(d) > 0 {
					t.Errorf("other model %d's state changed at %v", i, d)
				}
				for _, p := range nn.Parameters(m) {
					if p.Grad != nil {
						t.Errorf("other model %d: a parameter of shape %v got a gradient from inference", i, p.Shape())
					}
				}
			}
		})
	}
}
