package tensor

// sumLanesGo is the sum of x in a fixed order that a 16-lane vector loop
// follows too (sumLanes uses one where the CPU has it, with the same bits):
// lane l sums x[l], x[l+16], x[l+32], ... over the leading multiple of 16
// of the elements; the lanes are then added pairwise, l += l+8, l += l+4,
// l += l+2, l += l+1; the remaining elements are added last, in order.
// Sixteen independent sums instead of one chain of dependent additions.
func sumLanesGo(x []float32) float32 {
	n := len(x) &^ 15
	var acc [16]float32
	for i := 0; i < n; i += 16 {
		c := (*[16]float32)(x[i : i+16])
		for l := range acc {
			acc[l] += c[l]
		}
	}
	for w := 8; w >= 1; w /= 2 {
		for l := range w {
			acc[l] += acc[l+w]
		}
	}
	s := acc[0]
	for _, v := range x[n:] {
		s += v
	}
	return s
}

// SumInOrder64 returns the sum of x accumulated in float64 from the first
// element to the last: a reduction whose result does not depend on the
// vector width or the threading (the losses' reductions).
func SumInOrder64(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	return s
}
