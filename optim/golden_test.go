package optim

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// goldenFile is the layout of the JSON files in testdata/golden (see
// shared/golden/FORMAT.md); only the optimiser fields are decoded.
type goldenFile struct {
	Generator string       `json:"generator"`
	Cases     []goldenCase `json:"cases"`
}

type goldenCase struct {
	Name            string                     `json:"name"`
	Op              string                     `json:"op"`
	Attrs           map[string]json.RawMessage `json:"attrs"`
	Params          []goldenTensor             `json:"params"`
	GradsPerStep    [][]goldenTensor           `json:"grads_per_step"`
	ExpectedPerStep [][]goldenTensor           `json:"expected_per_step"`
	Metrics         []float64                  `json:"metrics"`
	LRs             []float64                  `json:"lrs"`
}

type goldenTensor struct {
	Name  string    `json:"name"`
	Dtype string    `json:"dtype"`
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

func (g goldenTensor) tensor() (*tensor.Tensor, error) {
	if g.Dtype != "float32" {
		return nil, fmt.Errorf("tensor %s: dtype %q, want float32", g.Name, g.Dtype)
	}
	n := 1
	for _, d := range g.Shape {
		n *= d
	}
	if n != len(g.Data) {
		return nil, fmt.Errorf("tensor %s: shape %v but %d values", g.Name, g.Shape, len(g.Data))
	}
	d := make([]float32, n)
	for i, v := range g.Data {
		d[i] = float32(v)
	}
	return tensor.New(d, g.Shape...), nil
}

func goldenDir() string {
	if d := os.Getenv("BACKPROP_GOLDEN_DIR"); d != "" {
		return d
	}
	return filepath.Join("..", "testdata", "golden")
}

var optimOps = map[string]bool{"sgd": true, "adam": true, "adamw": true, "rmsprop": true, "adagrad": true}

// TestGolden runs every optimiser and learning-rate schedule case of every
// *.json in the golden directory and checks each step against PyTorch; a
// case it cannot run fails.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(goldenDir(), "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no golden files in %s", goldenDir())
	}
	ran := 0
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var gf goldenFile
		if err := json.Unmarshal(raw, &gf); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, c := range gf.Cases {
			if scheduleOps[c.Op] {
				ran++
				t.Run(filepath.Base(file)+"/"+c.Name, func(t *testing.T) {
					if err := runScheduleCase(c); err != nil {
						t.Fatalf("case %s (op %s, attrs %s): %v", c.Name, c.Op, attrString(c.Attrs), err)
					}
				})
				continue
			}
			if !optimOps[c.Op] {
				continue
			}
			ran++
			t.Run(filepath.Base(file)+"/"+c.Name, func(t *testing.T) {
				maxErr, err := runGoldenCase(c)
				if err != nil {
					t.Fatalf("cannot run case %s (op %s, attrs %s): %v", c.Name, c.Op, attrString(c.Attrs), err)
				}
				t.Logf("%s: max abs error %.3g over %d steps", c.Name, maxErr, len(c.GradsPerStep))
			})
		}
	}
	if ran == 0 {
		t.Fatalf("no optimiser or schedule cases in %s", goldenDir())
	}
}

func attrString(a map[string]json.RawMessage) string {
	b, _ := json.Marshal(a)
	return string(b)
}

// goldenOptions turns torch.optim attributes into options; an attribute the
// optimiser does not take is an error.
func goldenOptions(op string, attrs map[string]json.RawMessage) ([]Option, error) {
	num := func(k string) (float64, error) {
		var v float64
		err := json.Unmarshal(attrs[k], &v)
		return v, err
	}
	flag := func(k string) (bool, error) {
		var v bool
		err := json.Unmarshal(attrs[k], &v)
		return v, err
	}
	takes := map[string][]string{
		"sgd":     {"lr", "momentum", "dampening", "nesterov", "weight_decay", "maximize", "foreach", "differentiable", "fused"},
		"adam":    {"lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "foreach", "capturable", "differentiable", "fused"},
		"adamw":   {"lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "foreach", "capturable", "differentiable", "fused"},
		"rmsprop": {"lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize", "foreach", "capturable", "differentiable"},
		"adagrad": {"lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps", "maximize", "foreach", "differentiable", "fused"},
	}[op]
	var opts []Option
	for k := range attrs {
		ok := false
		for _, name := range takes {
			ok = ok || name == k
		}
		if !ok {
			return nil, fmt.Errorf("unknown attribute %q for %s", k, op)
		}
		var err error
		var f float64
		var b bool
		switch k {
		case "lr":
			f, err = num(k)
			opts = append(opts, LR(f))
		case "momentum":
			f, err = num(k)
			opts = append(opts, Momentum(f))
		case "dampening":
			f, err = num(k)
			opts = append(opts, Dampening(f))
		case "weight_decay":
			f, err = num(k)
			opts = append(opts, WeightDecay(f))
		case "eps":
			f, err = num(k)
			opts = append(opts, Eps(f))
		case "alpha":
			f, err = num(k)
			opts = append(opts, Alpha(f))
		case "lr_decay":
			f, err = num(k)
			opts = append(opts, LRDecay(f))
		case "initial_accumulator_value":
			f, err = num(k)
			opts = append(opts, InitialAccumulator(f))
		case "nesterov":
			b, err = flag(k)
			opts = append(opts, Nesterov(b))
		case "amsgrad":
			b, err = flag(k)
			opts = append(opts, AMSGrad(b))
		case "centered":
			b, err = flag(k)
			opts = append(opts, Centered(b))
		case "maximize":
			b, err = flag(k)
			opts = append(opts, Maximize(b))
		case "betas":
			var bs []float64
			err = json.Unmarshal(attrs[k], &bs)
			if err == nil && len(bs) != 2 {
				err = fmt.Errorf("betas %v: want two values", bs)
			}
			if err == nil {
				opts = append(opts, Betas(bs[0], bs[1]))
			}
		case "foreach", "capturable", "differentiable", "fused":
			// Implementation choices in PyTorch that do not change the
			// maths; null, true and false are all accepted.
			var v *bool
			err = json.Unmarshal(attrs[k], &v)
		}
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %v", k, err)
		}
	}
	return opts, nil
}

func newGoldenOptimizer(op string, params []*autograd.Value, opts []Option) (o Optimizer, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	switch op {
	case "sgd":
		return SGD(params, opts...), nil
	case "adam":
		return Adam(params, opts...), nil
	case "adamw":
		return AdamW(params, opts...), nil
	case "rmsprop":
		return RMSprop(params, opts...), nil
	case "adagrad":
		return Adagrad(params, opts...), nil
	}
	return nil, fmt.Errorf("unknown optimiser %q", op)
}

func runGoldenCase(c goldenCase) (maxErr float64, err error) {
	opts, err := goldenOptions(c.Op, c.Attrs)
	if err != nil {
		return 0, err
	}
	params := make([]*autograd.Value, len(c.Params))
	for i, gt := range c.Params {
		tt, err := gt.tensor()
		if err != nil {
			return 0, err
		}
		params[i] = autograd.Param(tt)
	}
	opt, err := newGoldenOptimizer(c.Op, params, opts)
	if err != nil {
		return 0, err
	}
	if len(c.GradsPerStep) == 0 || len(c.GradsPerStep) != len(c.ExpectedPerStep) {
		return 0, fmt.Errorf("%d steps of gradients, %d of expected values", len(c.GradsPerStep), len(c.ExpectedPerStep))
	}
	var failures []string
	for s := range c.GradsPerStep {
		grads, want := c.GradsPerStep[s], c.ExpectedPerStep[s]
		if len(grads) != len(params) || len(want) != len(params) {
			return 0, fmt.Errorf("step %d: %d grads and %d expected for %d params", s, len(grads), len(want), len(params))
		}
		for i, gt := range grads {
			g, err := gt.tensor()
			if err != nil {
				return 0, err
			}
			if !tensor.EqualShapes(g.Shape(), params[i].Data.Shape()) {
				return 0, fmt.Errorf("step %d: grad %d has shape %v, param %v", s, i, g.Shape(), params[i].Data.Shape())
			}
			params[i].Grad = g
		}
		opt.Step()
		for i, wt := range want {
			if !tensor.EqualShapes(wt.Shape, params[i].Data.Shape()) {
				return 0, fmt.Errorf("step %d: expected %d has shape %v, param %v", s, i, wt.Shape, params[i].Data.Shape())
			}
			got := params[i].Data.Data()
			for j, w := range wt.Data {
				w32 := float64(float32(w))
				d := math.Abs(float64(got[j]) - w32)
				if d > maxErr || math.IsNaN(d) {
					maxErr = d
				}
				if !(d <= 1e-4+1e-3*math.Abs(w32)) && len(failures) < 10 {
					failures = append(failures, fmt.Sprintf("step %d param %s[%d]: got %v want %v", s, wt.Name, j, got[j], w))
				}
			}
		}
	}
	if len(failures) > 0 {
		return maxErr, fmt.Errorf("mismatch (max abs error %.3g):\n%s", maxErr, strings.Join(failures, "\n"))
	}
	return maxErr, nil
}

func TestGoldenOptionsStrict(t *testing.T) {
	attrs := map[string]json.RawMessage{"lr": json.RawMessage("0.1"), "betas": json.RawMessage("[0.9, 0.99]")}
	if _, err := goldenOptions("sgd", attrs); err == nil || !strings.Contains(err.Error(), `unknown attribute "betas"`) {
		t.Fatalf("sgd with betas: %v", err)
	}
	if _, err := goldenOptions("adam", attrs); err != nil {
		t.Fatal(err)
	}
}
