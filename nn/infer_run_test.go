package nn

import (
	"math"
	"testing"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// TestInferMatchesForward checks Infer against Forward on a graph-free
// input, bit for bit, over several calls (recycled intermediates must not
// corrupt later outputs or earlier results), with layers that return
// their input or a view of it (dropout, flatten) and a user function, and
// that the input is left as it was.
func TestInferMatchesForward(t *testing.T) {
	specs := []string{
		"flatten linear(32) relu linear(10)",
		"dropout(0.5) conv(4,3,pad=1) batchnorm relu maxpool(2) flatten dropout(0.2) linear(5)",
		"conv(4,3,pad=1) relu maxpool(2) conv(6,3) relu flatten linear(7) relu linear(3)",
	}
	for _, spec := range specs {
		m, err := Build(spec, []int{1, 8, 8}, Seed(3))
		if err != nil {
			t.Fatal(err)
		}
		Eval(m)
		if spec == specs[0] {
			m.Layers = append(m.Layers, Func("double", func(x *ag.Value) *ag.Value { return ag.Add(x, x) }), &ReLUModule{})
		}
		var kept [][]float32
		for trial := range 3 {
			n := 1 + 3*trial
			x := make([]float32, n*64)
			for i := range x {
				x[i] = float32(math.Sin(float64(i*(trial+1)))) * 2
			}
			orig := append([]float32(nil), x...)
			want := append([]float32(nil), m.Forward(ag.NoGraph(tensor.New(append([]float32(nil), x...), n, 1, 8, 8))).Data.Data()...)
			got := Infer(m, tensor.New(x, n, 1, 8, 8)).Data()
			if len(got) != len(want) {
				t.Fatalf("%s batch %d: %d outputs, want %d", spec, n, len(got), len(want))
			}
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s batch %d: [%d] = %v, want %v", spec, n, i, got[i], want[i])
				}
			}
			for i := range x {
				if math.Float32bits(x[i]) != math.Float32bits(orig[i]) {
					t.Fatalf("%s batch %d: input [%d] changed", spec, n, i)
				}
			}
			kept = append(kept, got, want)
		}
		for k := 0; k < len(kept); k += 2 {
			for i := range kept[k] {
				if kept[k][i] != kept[k+1][i] {
					t.Fatalf("%s: result of call %d changed afterwards", spec, k/2)
				}
			}
		}
	}
}
