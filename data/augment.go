package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
)

// Transform changes one sample's features x, of shape [C, H, W] (values in
// [0, 1] before normalisation), in place, drawing its randomness from rng
// only. It must be safe to call from several goroutines at once.
type Transform func(x []float32, shape []int, rng *rand.Rand)

// Augment describes training-time augmentation of images of shape
// [C, H, W] with values in [0, 1]. The zero value changes nothing. The
// operations run in the order of the fields, each drawing from the rng only
// when enabled, so a given (seed, epoch, sample) always gives the same
// result. Pixels moved in from outside the image (crop padding, rotation
// corners) are 0, that is black, as in torchvision.
type Augment struct {
	// CropPadding pads each side with this many zero pixels and crops a
	// window of the original size at a random position (RandomCrop with
	// padding). 0 turns it off.
	CropPadding int `json:"crop_padding,omitempty"`
	// FlipH mirrors the image left to right with probability 1/2.
	FlipH bool `json:"flip_h,omitempty"`
	// MaxRotation rotates by an angle drawn uniformly in
	// [-MaxRotation, MaxRotation] degrees, with bilinear interpolation.
	MaxRotation float64 `json:"max_rotation,omitempty"`
	// Brightness, Contrast and Saturation jitter colours: each multiplies
	// its quantity by a factor drawn uniformly in [1-v, 1+v]. Saturation
	// needs 3 channels and is ignored otherwise. Results are clamped to
	// [0, 1].
	Brightness float64 `json:"brightness,omitempty"`
	Contrast   float64 `json:"contrast,omitempty"`
	Saturation float64 `json:"saturation,omitempty"`
}

// Enabled reports whether a changes anything.
func (a *Augment) Enabled() bool { return a != nil && *a != Augment{} }

// Validate reports settings out of range.
func (a *Augment) Validate() error {
	switch {
	case a.CropPadding < 0:
		return fmt.Errorf("data: Augment.CropPadding %d is negative", a.CropPadding)
	case a.MaxRotation < 0 || a.MaxRotation > 180:
		return fmt.Errorf("data: Augment.MaxRotation %g is outside [0, 180] degrees", a.MaxRotation)
	case a.Brightness < 0 || a.Brightness > 1, a.Contrast < 0 || a.Contrast > 1, a.Saturation < 0 || a.Saturation > 1:
		return fmt.Errorf("data: Augment colour jitter (%g, %g, %g) is outside [0, 1]", a.Brightness, a.Contrast, a.Saturation)
	}
	return nil
}

// Apply augments x, of shape [C, H, W], in place. It has the signature of a
// Transform.
func (a *Augment) Apply(x []float32, shape []int, rng *rand.Rand) {
	if !a.Enabled() || rng == nil {
		return
	}
	c, h, w := chw(shape)
	if a.CropPadding > 0 {
		randomCrop(x, c, h, w, a.CropPadding, rng)
	}
	if a.FlipH && unit(rng) < 0.5 {
		flipH(x, c, h, w)
	}
	if a.MaxRotation > 0 {
		rotate(x, c, h, w, uniform(rng, -a.MaxRotation, a.MaxRotation))
	}
	if a.Brightness > 0 || a.Contrast > 0 || a.Saturation > 0 {
		b := uniform(rng, 1-a.Brightness, 1+a.Brightness)
		ct := uniform(rng, 1-a.Contrast, 1+a.Contrast)
		s := uniform(rng, 1-a.Saturation, 1+a.Saturation)
		colorJitter(x, c, h*w, float32(b), float32(ct), float32(s))
	}
}

func chw(shape []int) (c, h, w int) {
	switch len(shape) {
	case 3:
		return shape[0], shape[1], shape[2]
	case 2:
		return 1, shape[0], shape[1]
	}
	panic(fmt.Sprintf("data: augmentation needs a [C, H, W] or [H, W] shape, got %v", shape))
}

// unit returns a float64 in [0, 1) from 53 random bits. It is written here,
// not taken from math/rand/v2, so that the streams stay the same whatever
// the Go version.
func unit(rng *rand.Rand) float64 { return float64(rng.Uint64()>>11) * 0x1p-53 }

func uniform(rng *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*unit(rng) }

// intn returns an int in [0, n) (n > 0) by multiply-shift, stable across Go
// versions; the bias for the small n used here is below 2^-50.
func intn(rng *rand.Rand, n int) int {
	hi, _ := mulHi(rng.Uint64(), uint64(n))
	return int(hi)
}

func mulHi(a, b uint64) (uint64, uint64) {
	const mask32 = 1<<32 - 1
	a0, a1 := a&mask32, a>>32
	b0, b1 := b&mask32, b>>32
	w0 := a0 * b0
	t := a1*b0 + w0>>32
	w1 := t&mask32 + a0*b1
	hi := a1*b1 + t>>32 + w1>>32
	return hi, a * b
}

var scratch = sync.Pool{New: func() any { return new([]float32) }}

func getScratch(n int) *[]float32 {
	p := scratch.Get().(*[]float32)
	if cap(*p) < n {
		*p = make([]float32, n)
	}
	*p = (*p)[:n]
	return p
}

// randomCrop shifts each channel by a random offset in [-pad, pad] in both
// directions, filling with zeros: the same as padding by pad and cropping
// an H×W window.
func randomCrop(x []float32, c, h, w, pad int, rng *rand.Rand) {
	dy := intn(rng, 2*pad+1) - pad
	dx := intn(rng, 2*pad+1) - pad
	if dx == 0 && dy == 0 {
		return
	}
	p := getScratch(h * w)
	defer scratch.Put(p)
	tmp := *p
	for ch := range c {
		plane := x[ch*h*w : (ch+1)*h*w]
		copy(tmp, plane)
		clear(plane)
		for y := range h {
			sy := y + dy
			if sy < 0 || sy >= h {
				continue
			}
			x0, x1 := max(0, -dx), min(w, w-dx)
			if x0 < x1 {
				copy(plane[y*w+x0:y*w+x1], tmp[sy*w+x0+dx:sy*w+x1+dx])
			}
		}
	}
}

func flipH(x []float32, c, h, w int) {
	for r := range c * h {
		row := x[r*w : (r+1)*w]
		for i, j := 0, w-1; i < j; i, j = i+1, j-1 {
			row[i], row[j] = row[j], row[i]
		}
	}
}

// rotate turns each channel by deg degrees (counter-clockwise) about the
// centre, bilinear, with zeros outside.
func rotate(x []float32, c, h, w int, deg float64) {
	sin, cos := math.Sincos(deg * math.Pi / 180)
	cy, cx := float64(h-1)/2, float64(w-1)/2
	p := getScratch(h * w)
	defer scratch.Put(p)
	tmp := *p
	for ch := range c {
		plane := x[ch*h*w : (ch+1)*h*w]
		copy(tmp, plane)
		for y := range h {
			for xx := range w {
				// Source position: the output position rotated back.
				ox, oy := float64(xx)-cx, float64(y)-cy
				sx := cos*ox - sin*oy + cx
				sy := sin*ox + cos*oy + cy
				plane[y*w+xx] = bilinear(tmp, h, w, sx, sy)
			}
		}
	}
}

func bilinear(img []float32, h, w int, x, y float64) float32 {
	x0, y0 := math.Floor(x), math.Floor(y)
	fx, fy := float32(x-x0), float32(y-y0)
	ix, iy := int(x0), int(y0)
	at := func(yy, xx int) float32 {
		if yy < 0 || yy >= h || xx < 0 || xx >= w {
			return 0
		}
		return img[yy*w+xx]
	}
	top := at(iy, ix)*(1-fx) + at(iy, ix+1)*fx
	bot := at(iy+1, ix)*(1-fx) + at(iy+1, ix+1)*fx
	return top*(1-fy) + bot*fy
}

// colorJitter scales brightness, then contrast about the mean grey level,
// then saturation about each pixel's grey level (3 channels only), and
// clamps to [0, 1].
func colorJitter(x []float32, c, n int, b, ct, s float32) {
	if b != 1 {
		for i := range x {
			x[i] = clamp01(x[i] * b)
		}
	}
	grey := func(i int) float32 {
		if c == 3 {
			return 0.299*x[i] + 0.587*x[n+i] + 0.114*x[2*n+i]
		}
		return x[i]
	}
	if ct != 1 {
		var sum float64
		for i := range n {
			sum += float64(grey(i))
		}
		m := float32(sum / float64(n))
		for i := range x {
			x[i] = clamp01((x[i]-m)*ct + m)
		}
	}
	if s != 1 && c == 3 {
		for i := range n {
			g := grey(i)
			for ch := range 3 {
				v := &x[ch*n+i]
				*v = clamp01((*v-g)*s + g)
			}
		}
	}
}

func clamp01(v float32) float32 { return min(max(v, 0), 1) }

// Transformed returns a data set whose samples are those of ds with the
// transforms applied in order, when Sample is given a non-nil rng (that is,
// in a Loader); with a nil rng it gives ds's samples unchanged. Use it to
// augment MNIST: data.Transformed(train, (&data.Augment{CropPadding: 2}).Apply).
func Transformed(ds Dataset, tfs ...Transform) Dataset {
	return &transformed{Dataset: ds, tfs: tfs}
}

type transformed struct {
	Dataset
	tfs []Transform
}

func (t *transformed) Sample(i int, rng *rand.Rand, x, target []float32) (int, error) {
	label, err := t.Dataset.Sample(i, rng, x, target)
	if err != nil || rng == nil {
		return label, err
	}
	for _, tf := range t.tfs {
		tf(x, t.Shape(), rng)
	}
	return label, nil
}
