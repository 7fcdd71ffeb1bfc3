//go:build !amd64 || noasm

package tensor

const hasConvDirect = false

func convDirect(p *float32, off *int, w *float32, taps int, out *float32, n int) {
	panic("tensor: convDirect without its assembly")
}
