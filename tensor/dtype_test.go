package tensor

import (
	"fmt"
	"strings"
	"testing"
)

// panicMessage runs f and returns what it panicked with ("" if nothing).
func panicMessage(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

func TestDTypeMixingPanicsNamingOpAndDTypes(t *testing.T) {
	a, b := Ones(2, 3), Ones(2, 3).To(Float64)
	cases := []struct {
		op string
		f  func()
	}{
		{"tensor.Add", func() { Add(a, b) }},
		{"tensor.Mul", func() { Mul(b, a) }},
		{"tensor.MatMul", func() { MatMulT(a, b, false, true) }},
		{"tensor.AddInPlace", func() { AddInPlace(b, a) }},
		{"tensor.Concat", func() { Concat(0, a, b) }},
		{"tensor.Where", func() { Where(FromInts([]int{1, 0, 1}, 3), a, b) }},
	}
	for _, c := range cases {
		msg := panicMessage(c.f)
		if !strings.Contains(msg, c.op) || !strings.Contains(msg, "float32") || !strings.Contains(msg, "float64") {
			t.Errorf("%s: panic %q does not name the op and both dtypes", c.op, msg)
		}
	}
}

func TestAccessorsRefuseOtherDTypes(t *testing.T) {
	f64, i64 := Zeros64(2), NewInt64([]int64{1, 2}, 2)
	for name, f := range map[string]func(){
		"Data on float64":   func() { f64.Data() },
		"Data on int64":     func() { i64.Data() },
		"Data64 on float32": func() { Zeros(2).Data64() },
		"Int64s on float64": func() { f64.Int64s() },
		"Item on float64":   func() { ScalarOf(Float64, 1).Item() },
		"Exp on int64":      func() { Exp(i64) },
	} {
		if msg := panicMessage(f); msg == "" {
			t.Errorf("%s: no panic", name)
		}
	}
}

func TestConversions(t *testing.T) {
	x := New([]float32{1.5, -2, 3.25}, 3)
	d := x.To(Float64)
	if d.DType() != Float64 || d.Data64()[0] != 1.5 || d.Data64()[2] != 3.25 {
		t.Fatalf("To(Float64): %v", d)
	}
	if back := d.To(Float32); back.Data()[1] != -2 {
		t.Errorf("round trip: %v", back)
	}
	if i := x.To(Int64).Int64s(); i[0] != 1 || i[1] != -2 || i[2] != 3 {
		t.Errorf("To(Int64) should truncate towards zero: %v", i)
	}
	if x.To(Float32) != x {
		t.Error("To of the same dtype should return the tensor itself")
	}
	if r := Reshape(d, 1, 3); r.DType() != Float64 || &r.Data64()[0] != &d.Data64()[0] {
		t.Error("Reshape of a float64 tensor should be a float64 view")
	}
	if msg := panicMessage(func() { New([]float32{0.5}, 1).Ints("test") }); msg == "" {
		t.Error("Ints of a non-whole float should panic")
	}
	if dt, err := ParseDType("int64"); err != nil || dt != Int64 || dt.String() != "int64" {
		t.Errorf("ParseDType: %v %v", dt, err)
	}
}

func ExampleTensor_To() {
	x := New([]float32{1, 2, 3}, 3)
	y := Mul(x.To(Float64), New64([]float64{0.1, 0.1, 0.1}, 3))
	fmt.Println(y.DType(), y.Data64()[2])
	// Output: float64 0.30000000000000004
}
