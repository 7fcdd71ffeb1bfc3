module backprop

go 1.26.8
