package serve_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/backprop-go/backprop/data"
	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/serve"
)

// A table model served from a program's own mux, under /api/. A real
// program loads a trained model; this one is built with seeded weights.
func Example() {
	module, err := nn.Build("linear(8) relu linear(3)", []int{4}, nn.Seed(1))
	if err != nil {
		panic(err)
	}
	nn.Eval(module)
	srv, err := serve.New(serve.Model{
		Module:     module,
		Arch:       "linear(8) relu linear(3)",
		InputShape: []int{4},
		Classes:    []string{"setosa", "versicolor", "virginica"},
		CSV: &data.CSVSpec{
			Columns:        []string{"sepal_length", "sepal_width", "petal_length", "petal_width", "species"},
			FeatureColumns: []int{0, 1, 2, 3},
			LabelColumn:    4,
		},
	}, serve.Config{})
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	mux := http.NewServeMux()
	mux.Handle("/api/", http.StripPrefix("/api", srv))
	ts := httptest.NewServer(mux) // in a program: srv.Serve(ctx, listener), or an http.Server of your own
	defer ts.Close()

	resp, err := http.Post(ts.URL+"/api/v1/predict?top=1", "text/csv", strings.NewReader("sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n"))
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status)
	fmt.Println(strings.Contains(string(body), `"input":"body:2","top":[{"class":`))
	// Output:
	// 200 OK
	// true
}
