package tensor

// pool3Tables holds maxPool3x3s2's tap offset tables for planes w wide,
// built as they are needed (once per run of planes: 2 KiB to clear): for each window row layout (all three rows in
// the plane, or one of them in the padding and given as a copy of its
// neighbour) and for groups with or without a left padding column.
type pool3Tables struct {
	w    int
	have [4]bool
	tab  [4][2][9][8]int32
}

// pool3Layouts are the row layouts, as the rows (from the first one that
// is read) that the window's three rows read.
var pool3Layouts = [4][3]int{{0, 1, 2}, {0, 0, 1}, {0, 1, 1}, {0, 0, 0}}

// get returns the tables of layout lay: offs[0][t][lane] = row(t/3)·w +
// t%3 for every lane, and offs[1] the same but for the first window's left
// taps, given as its middle ones (+1). Lane 0 is window 0 in the vector
// loop's lane order.
func (t *pool3Tables) get(lay int) *[2][9][8]int32 {
	tab := &t.tab[lay]
	if !t.have[lay] {
		for tap := range tab[0] {
			o := int32(pool3Layouts[lay][tap/3]*t.w + tap%3)
			for lane := range tab[0][tap] {
				tab[0][tap][lane], tab[1][tap][lane] = o, o
			}
			if tap%3 == 0 {
				tab[1][tap][0] = o + 1
			}
		}
		t.have[lay] = true
	}
	return tab
}

// maxPool3x3s2 pools, with the vector loop, the outputs of a 3×3 window
// with horizontal stride 2 and no dilation (ResNet's stem pooling) in the
// columns [xlo, xhi) of every output row, and returns that range (empty
// when it did none): the columns whose windows lie inside the plane or,
// in the first column, have only their left tap in the padding, when
// there are at least 8 of them. A window's padding row (at the top or bottom) is read as a copy of
// its neighbour, and a padding left tap as the middle one: taking a tap
// twice in a row changes neither the first maximum nor the last NaN, so
// the values and indices are maxPoolPlane's. A row's last 8 outputs are
// done as one group that may overlap the group before it, which
// recomputes the same values.
func (g poolGeom) maxPool3x3s2(plane, out []float32, arg []int32, tabs *pool3Tables) (xlo, xhi int) {
	p := g.p
	if !g.pool3() {
		return 0, 0
	}
	xlo, _ = validRange(g.ow, g.w, 2, -p.Padding[1])
	_, xhi = validRange(g.ow, g.w, 2, 2-p.Padding[1])
	// The first column's window may have its left tap alone in the padding.
	left := xlo == 1 && p.Padding[1] == 1 && g.w >= 2
	if left {
		xlo = 0
	}
	if xhi-xlo < 8 {
		return 0, 0
	}
	groups, tail := (xhi-xlo)/8, (xhi-xlo)%8 != 0
	for oy := range g.oh {
		iy := oy*p.Stride[0] - p.Padding[0]
		top := iy < 0
		bottom := iy+2 >= g.h
		lay := 0
		switch {
		case top && bottom: // a single input row
			lay, iy = 3, 0
		case top:
			lay, iy = 1, 0
		case bottom:
			lay = 2
			if iy+1 >= g.h {
				// The window's last two rows are padding (ceil mode):
				// its one row read three times.
				lay = 3
			}
		}
		r := pool3Layouts[lay]
		r1, r2 := r[1]*g.w, r[2]*g.w
		offs := tabs.get(lay)
		row := iy * g.w
		base, o := row+2*xlo-p.Padding[1], oy*g.ow+xlo
		if left {
			maxPool3x3s2Vec(plane[row:], r1, r2, out[o:], arg[o:], groups, base, offs, true)
		} else {
			maxPool3x3s2Vec(plane[base:], r1, r2, out[o:], arg[o:], groups, base, offs, false)
		}
		if tail {
			base, o = row+2*(xhi-8)-p.Padding[1], oy*g.ow+xhi-8
			maxPool3x3s2Vec(plane[base:], r1, r2, out[o:], arg[o:], 1, base, offs, false)
		}
	}
	return xlo, xhi
}

// pool3 reports whether maxPool3x3s2 applies to g's windows (it still
// declines planes too narrow for it).
func (g poolGeom) pool3() bool {
	p := g.p
	return hasPool3Vec && p.Kernel == [2]int{3, 3} && p.Stride[1] == 2 && p.Dilation == [2]int{1, 1}
}
