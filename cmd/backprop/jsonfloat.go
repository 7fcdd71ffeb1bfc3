package main

import bpserve "github.com/backprop-go/backprop/serve"

// jsonFloat is a float64 that encodes NaN and ±Inf as null: encoding/json
// refuses them, and a model with NaN weights must still give valid JSON.
// It is serve's Float, so that predict and serve write numbers alike.
type jsonFloat = bpserve.Float
