package explain_test

import (
	"fmt"
	"log"

	"github.com/backprop-go/backprop/explain"
)

// One training step of the cat-or-dog network: the error on the photo
// before and after the update, and the gradient of one weight with the
// chain rule's factors that make it.
func ExampleRun() {
	story, err := explain.Run(explain.Config{Steps: 1, LR: 1, Seed: 1, Activation: "tanh"})
	if err != nil {
		log.Fatal(err)
	}
	st := story.Steps[0]
	fmt.Printf("error %.4f -> %.4f\n", st.Error, st.ErrorAfter)
	w := st.Weights[0]
	fmt.Printf("%s: gradient %.4f from %d factors\n", w.Name, w.Gradient, len(w.Chain))
	// Output:
	// error 0.4120 -> 0.1637
	// w2[h1]: gradient 0.0041 from 3 factors
}
