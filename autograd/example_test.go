package autograd_test

import (
	"fmt"

	ag "github.com/backprop-go/backprop/autograd"
	"github.com/backprop-go/backprop/tensor"
)

// Inference from an input marked NoGraph records no graph, although the
// weight requires a gradient; the same weight still records with a Const
// input, in this goroutine or any other.
func ExampleNoGraph() {
	w := ag.Param(tensor.New([]float32{1, 2, 3, 4}, 2, 2))
	x := tensor.New([]float32{1, 1}, 1, 2)

	y := ag.Tanh(ag.MatMul(ag.NoGraph(x), w))
	fmt.Println(y.NoGraph(), y.RequiresGrad())

	loss := ag.Sum(ag.MatMul(ag.Const(x), w))
	loss.Backward()
	fmt.Println(loss.RequiresGrad(), w.Grad.Data())
	// Output:
	// true false
	// true [1 1 1 1]
}

// MatMulNT multiplies by the transpose of its second operand without
// making it: scores = Q·Kᵀ.
func ExampleMatMulNT() {
	q := ag.Param(tensor.New([]float32{1, 0, 0, 1}, 2, 2))
	k := ag.Param(tensor.New([]float32{1, 2, 3, 4, 5, 6}, 3, 2))
	scores := ag.MatMulNT(q, k)
	fmt.Println(scores.Shape(), scores.Data.Data())
	// Output: [2 3] [1 3 5 2 4 6]
}

// Transpose returns a view: fed to MatMul it is read in place by the GEMM,
// so A·Bᵀ copies neither b nor its gradient.
func ExampleTranspose() {
	a := ag.Param(tensor.New([]float32{1, 2, 3, 4}, 2, 2))
	b := ag.Param(tensor.New([]float32{1, 0, 1, 1, 0, 2}, 3, 2))
	bt := ag.Transpose(b, 0, 1)
	y := ag.MatMul(a, bt) // a·bᵀ, [2, 3]
	fmt.Println(bt.Data.IsContiguous(), y.Data.Data())
	ag.Sum(y).Backward()
	fmt.Println(b.Grad.Data())
	// Output:
	// false [1 3 4 3 7 8]
	// [4 6 4 6 4 6]
}

// Expand broadcasts without copying: the addition reads the expanded row
// with stride 0, and the gradient sums over the copies.
func ExampleExpand() {
	row := ag.Param(tensor.New([]float32{1, 2, 3}, 1, 3))
	y := ag.Add(ag.Expand(row, 2, 3), ag.Const(tensor.Ones(2, 3)))
	fmt.Println(y.Data.Data())
	ag.Sum(y).Backward()
	fmt.Println(row.Grad.Data())
	// Output:
	// [2 3 4 2 3 4]
	// [2 2 2]
}
