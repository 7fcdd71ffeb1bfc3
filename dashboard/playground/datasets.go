package playground

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/backprop-go/backprop/explain"
)

// Domain is half the side of the square the points lie in: both
// coordinates are within [-Domain, Domain] (before noise).
const Domain = 6.0

// Point is one sample of a toy data set: a position and a class, 0
// (drawn blue) or 1 (drawn orange).
type Point struct {
	X     float32 `json:"x"`
	Y     float32 `json:"y"`
	Label int     `json:"label"`
}

// Datasets lists the toy data sets by name, in the order the page shows
// them. The last, CatDog, is not generated: it is the four photos of
// `backprop explain`.
var Datasets = []string{"circles", "xor", "blobs", "spiral", "moons", CatDog}

// CatDog names the data set of `backprop explain`: four photos of cats and
// dogs, each two features from 0 to 1 (x: how pointy the ears are, y: how
// long the snout is), class 1 for a dog. With it the engine trains exactly
// explain's network (see Config), so that a step here shows the numbers
// `backprop explain` prints.
const CatDog = "catdog"

// DomainOf is the centre of the square data set name's points are drawn
// in (the same on both axes) and half its side.
func DomainOf(name string) (center, half float64) {
	if name == CatDog {
		return 0.5, 0.6 // the features run from 0 to 1
	}
	return 0, Domain
}

// catDogPoints are explain.Photos as points, in explain's order.
func catDogPoints() []Point {
	pts := make([]Point, len(explain.Photos))
	for i, p := range explain.Photos {
		pts[i] = Point{X: float32(p.Ears), Y: float32(p.Snout), Label: int(p.Target)}
	}
	return pts
}

// Generate returns n points of the named data set, with Gaussian noise of
// standard deviation noise·2 added to each coordinate (noise runs from 0
// to 0.5, as TensorFlow Playground's 0 to 50%), drawn from a generator
// seeded with seed. Half the points are of each class.
//
// CatDog ignores n, noise and seed: its four points are always the same.
func Generate(name string, n int, noise float64, seed uint64) ([]Point, error) {
	if name == CatDog {
		return catDogPoints(), nil
	}
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var gen func(i int) (x, y float64, label int)
	switch name {
	case "circles":
		// An inner disc and an outer ring around it: not separable by a
		// line, so it needs a hidden layer.
		gen = func(i int) (float64, float64, int) {
			label := i % 2
			rad := r.Float64() * 2.5
			if label == 1 {
				rad = 3.5 + r.Float64()*1.5
			}
			a := r.Float64() * 2 * math.Pi
			return rad * math.Cos(a), rad * math.Sin(a), label
		}
	case "xor":
		// Four quadrants, opposite ones alike; kept a little off the axes
		// so that the classes do not touch.
		gen = func(int) (float64, float64, int) {
			x, y := (r.Float64()*2-1)*5, (r.Float64()*2-1)*5
			x += math.Copysign(0.3, x)
			y += math.Copysign(0.3, y)
			label := 0
			if x*y > 0 {
				label = 1
			}
			return x, y, label
		}
	case "blobs":
		// Two Gaussian clouds: a straight line separates them.
		gen = func(i int) (float64, float64, int) {
			label := i % 2
			c := 2.0
			if label == 1 {
				c = -2
			}
			return c + r.NormFloat64()*1.2, c + r.NormFloat64()*1.2, label
		}
	case "spiral":
		// Two interleaved arms winding out from the centre.
		gen = func(i int) (float64, float64, int) {
			label := i % 2
			t := float64(i/2) / float64(max(n/2, 1))
			rad := 5 * t
			a := 1.75*2*math.Pi*t + float64(label)*math.Pi
			return rad * math.Sin(a), rad * math.Cos(a), label
		}
	case "moons":
		// Two interlocking half circles.
		gen = func(i int) (float64, float64, int) {
			label := i % 2
			a := r.Float64() * math.Pi
			x, y := math.Cos(a), math.Sin(a)
			if label == 1 {
				x, y = 1-x, 0.5-y
			}
			return (x - 0.5) * 3.5, (y - 0.25) * 3.5, label
		}
	default:
		return nil, fmt.Errorf("unknown data set %q (want one of %v)", name, Datasets)
	}
	pts := make([]Point, n)
	for i := range pts {
		x, y, label := gen(i)
		x += r.NormFloat64() * noise * 2
		y += r.NormFloat64() * noise * 2
		pts[i] = Point{float32(x), float32(y), label}
	}
	// Shuffle so that the train/test split and the batches mix classes.
	r.Shuffle(len(pts), func(i, j int) { pts[i], pts[j] = pts[j], pts[i] })
	return pts, nil
}
