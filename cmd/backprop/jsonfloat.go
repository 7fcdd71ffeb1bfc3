package main

import (
	"encoding/json"
	"math"
)

// jsonFloat is a float64 that encodes NaN and ±Inf as null: encoding/json
// refuses them, and a model with NaN weights must still give valid JSON.
type jsonFloat float64

// MarshalJSON writes the number, or null when it is not finite.
func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(v)
}
