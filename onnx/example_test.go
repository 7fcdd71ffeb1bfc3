package onnx_test

import (
	"bytes"
	"fmt"
	"log"
	"strings"

	"github.com/backprop-go/backprop/nn"
	"github.com/backprop-go/backprop/onnx"
	pb "github.com/backprop-go/backprop/onnx/onnxpb"
	"google.golang.org/protobuf/proto"
)

// Export a small image classifier that takes raw pixels in [0, 1]: the
// normalisation it was trained with becomes the model's first nodes, and
// the class names go into its metadata. Write buf to model.onnx to run it
// in ONNX Runtime with an input named "input" of shape [N, 1, 28, 28].
func ExampleExport() {
	model, err := nn.Build("conv(8,3,pad=1) batchnorm relu maxpool(2) flatten dropout(0.2) linear(3)", []int{1, 28, 28}, nn.Seed(1))
	if err != nil {
		log.Fatal(err)
	}
	var buf bytes.Buffer
	err = onnx.Export(&buf, model, []int{1, 28, 28},
		onnx.Normalize([]float32{0.2860}, []float32{0.3530}),
		onnx.Metadata(map[string]string{"classes": `["shirt","sneaker","bag"]`}))
	if err != nil {
		log.Fatal(err)
	}

	// Read it back to show what it holds.
	var m pb.ModelProto
	if err := proto.Unmarshal(buf.Bytes(), &m); err != nil {
		log.Fatal(err)
	}
	fmt.Println("opset", m.GetOpsetImport()[0].GetVersion(), "producer", m.GetProducerName())
	var ops []string
	for _, n := range m.GetGraph().GetNode() {
		ops = append(ops, n.GetOpType())
	}
	fmt.Println(strings.Join(ops, " "))
	for _, p := range m.GetMetadataProps() {
		fmt.Printf("%s: %s\n", p.GetKey(), p.GetValue())
	}
	// Output:
	// opset 17 producer backprop
	// Sub Mul Conv BatchNormalization Relu MaxPool Flatten Gemm
	// architecture: conv(8,3,pad=1) batchnorm relu maxpool(2) flatten dropout(0.2) linear(3)
	// classes: ["shirt","sneaker","bag"]
}
