package tensor

// maxPool3x3s2 pools, with the vector loop, the outputs of a 3×3 window
// with horizontal stride 2 and no dilation (ResNet's stem pooling) whose
// windows lie wholly inside the plane, when there are at least 8 of them
// in a row, and returns the output rows [ylo, yhi) and columns [xlo, xhi)
// it did; an empty range when it did none. The values and indices are
// maxPoolPlane's: the windows' taps are taken in the same order by the same
// rule. A row's last 8 outputs are done as one group that may overlap the
// group before it, which recomputes the same values.
func (g poolGeom) maxPool3x3s2(plane, out []float32, arg []int32) (ylo, yhi, xlo, xhi int) {
	p := g.p
	if !hasPool3Vec || p.Kernel != [2]int{3, 3} || p.Stride[1] != 2 || p.Dilation != [2]int{1, 1} {
		return 0, 0, 0, 0
	}
	ylo, _ = validRange(g.oh, g.h, p.Stride[0], -p.Padding[0])
	_, yhi = validRange(g.oh, g.h, p.Stride[0], 2-p.Padding[0])
	xlo, _ = validRange(g.ow, g.w, 2, -p.Padding[1])
	_, xhi = validRange(g.ow, g.w, 2, 2-p.Padding[1])
	if yhi <= ylo || xhi-xlo < 8 {
		return 0, 0, 0, 0
	}
	var offs [9][8]int32
	for t := range offs {
		for l := range offs[t] {
			offs[t][l] = int32(t/3*g.w + t%3)
		}
	}
	groups, tail := (xhi-xlo)/8, (xhi-xlo)%8 != 0
	for oy := ylo; oy < yhi; oy++ {
		row := (oy*p.Stride[0] - p.Padding[0]) * g.w
		base, o := row+2*xlo-p.Padding[1], oy*g.ow+xlo
		maxPool3x3s2Vec(plane[base:], g.w, out[o:], arg[o:], groups, base, &offs)
		if tail {
			base, o = row+2*(xhi-8)-p.Padding[1], oy*g.ow+xhi-8
			maxPool3x3s2Vec(plane[base:], g.w, out[o:], arg[o:], 1, base, &offs)
		}
	}
	return ylo, yhi, xlo, xhi
}
