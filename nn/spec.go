package nn

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Spec is a parsed architecture: its layers in order.
type Spec []LayerSpec

// LayerSpec is one token of a spec.
type LayerSpec struct {
	// Name is the layer's name in lower case, such as "conv".
	Name string
	// Args holds the arguments given, positional ones under their names
	// ("out", "k"); defaults are not filled in.
	Args map[string]float64
	// Column is the 1-based byte column of the token in the parsed text,
	// for error messages.
	Column int
}

// SpecError reports a spec that does not parse or does not build: the
// column and text of the offending token and what was expected.
type SpecError struct {
	Column int
	Token  string
	Msg    string
}

// Error describes the problem with its position.
func (e *SpecError) Error() string {
	if e.Token == "" {
		return fmt.Sprintf("nn: spec column %d: %s", e.Column, e.Msg)
	}
	return fmt.Sprintf("nn: spec column %d, %q: %s", e.Column, e.Token, e.Msg)
}

// presets are whole specs known by name.
var presets = map[string]string{
	// A multi-layer perceptron for 28×28 images: about 235k parameters,
	// ~98% on MNIST in 10 epochs.
	"mlp": "flatten linear(256) relu linear(128) relu linear(10)",
	// The benchmark W-CNN (two conv-relu-pool stages, two linear layers)
	// with batch norm after each convolution and dropout before the last
	// layer: steadier at high learning rates, ≥ 99% on MNIST in 3 epochs.
	"cnn": "conv(32,3,pad=1) batchnorm relu maxpool(2) conv(64,3,pad=1) batchnorm relu maxpool(2) flatten linear(128) relu dropout(0.25) linear(10)",
}

// Presets returns the named specs that ParseSpec and Build accept in place
// of a spec: "mlp" and "cnn", both for 28×28 images and 10 classes.
func Presets() map[string]string {
	out := make(map[string]string, len(presets))
	for k, v := range presets {
		out[k] = v
	}
	return out
}

// Preset returns the spec of a named preset adapted to other data: the
// last layer gives outputs values, and the cnn preset adds a
// conv-batchnorm-relu-pool stage for every doubling of the image side
// beyond 28 so that the linear layer stays small. inputShape is one
// sample's shape ([C,H,W] for the cnn).
func Preset(name string, inputShape []int, outputs int) (string, error) {
	if outputs < 1 {
		return "", fmt.Errorf("nn: preset %q for %d outputs", name, outputs)
	}
	switch name {
	case "mlp":
		return fmt.Sprintf("flatten linear(256) relu linear(128) relu linear(%d)", outputs), nil
	case "cnn":
		if len(inputShape) != 3 {
			return "", fmt.Errorf("nn: the cnn preset needs images [C,H,W]; samples have shape %v (try mlp)", inputShape)
		}
		spec := "conv(32,3,pad=1) batchnorm relu maxpool(2) conv(64,3,pad=1) batchnorm relu maxpool(2)"
		for side := min(inputShape[1], inputShape[2]) / 4; side > 8; side /= 2 {
			spec += " conv(64,3,pad=1) batchnorm relu maxpool(2)"
		}
		return spec + fmt.Sprintf(" flatten linear(128) relu dropout(0.25) linear(%d)", outputs), nil
	}
	return "", fmt.Errorf("nn: unknown preset %q (want mlp or cnn)", name)
}

type argKind int

const (
	intArg   argKind = iota // a whole number in [min, maxSpecInt]
	floatArg                // a finite number in [min, max]
	flagArg                 // 0 or 1
)

// MaxSpecLen is the longest spec ParseSpec accepts, in bytes: far more
// than any real model's (a hundred layers take about 2 KB), and a bound on
// what parsing a spec taken from a file can allocate.
const MaxSpecLen = 1 << 16

// maxSpecInt bounds every integer argument; larger sizes are surely typos
// and would overflow size computations.
const maxSpecInt = 1 << 24

type argDef struct {
	name     string
	kind     argKind
	def      float64 // default; NaN for required arguments
	min, max float64 // bounds (inclusive)
	always   bool    // canonical form writes it positionally even at its default
}

type layerDef struct {
	args []argDef
	// positional is how many leading args the canonical form writes
	// positionally (when set, or when always).
	positional int
}

var req = math.NaN()

func sizeArg(name string) argDef {
	return argDef{name: name, kind: intArg, def: req, min: 1, max: maxSpecInt}
}
func intArgDef(name string, def, lo float64) argDef {
	return argDef{name: name, kind: intArg, def: def, min: lo, max: maxSpecInt}
}
func flag(name string, def float64) argDef {
	return argDef{name: name, kind: flagArg, def: def, min: 0, max: 1}
}
func floatDef(name string, def, lo, hi float64) argDef {
	return argDef{name: name, kind: floatArg, def: def, min: lo, max: hi}
}

var layerDefs = map[string]layerDef{
	"linear": {args: []argDef{sizeArg("out"), flag("bias", 1)}, positional: 1},
	"conv": {args: []argDef{sizeArg("out"), sizeArg("k"), intArgDef("stride", 1, 1), intArgDef("pad", 0, 0),
		intArgDef("dilation", 1, 1), intArgDef("groups", 1, 1), flag("bias", 1)}, positional: 2},
	"maxpool": {args: []argDef{sizeArg("k"), intArgDef("stride", -1, 1), intArgDef("pad", 0, 0),
		intArgDef("dilation", 1, 1), flag("ceil", 0)}, positional: 1},
	"avgpool": {args: []argDef{sizeArg("k"), intArgDef("stride", -1, 1), intArgDef("pad", 0, 0),
		flag("ceil", 0), flag("include_pad", 1)}, positional: 1},
	"globalavgpool": {},
	"batchnorm": {args: []argDef{floatDef("momentum", 0.1, 0, 1), floatDef("eps", 1e-5, math.SmallestNonzeroFloat32, 1),
		flag("affine", 1)}},
	"layernorm": {args: []argDef{intArgDef("dims", 0, 1), floatDef("eps", 1e-5, math.SmallestNonzeroFloat32, 1),
		flag("affine", 1)}},
	"dropout": {args: []argDef{{name: "p", kind: floatArg, def: 0.5, min: 0, max: 1, always: true}}, positional: 1},
	"flatten": {}, "relu": {}, "tanh": {}, "sigmoid": {}, "silu": {},
	"gelu":       {args: []argDef{flag("tanh", 0)}},
	"elu":        {args: []argDef{floatDef("alpha", 1, -1e6, 1e6)}, positional: 1},
	"softplus":   {args: []argDef{floatDef("beta", 1, 1e-6, 1e6), floatDef("threshold", 20, -1e6, 1e6)}},
	"leakyrelu":  {args: []argDef{floatDef("slope", 0.01, -1e6, 1e6)}, positional: 1},
	"softmax":    {args: []argDef{{name: "dim", kind: intArg, def: 1, min: -8, max: 8}}},
	"logsoftmax": {args: []argDef{{name: "dim", kind: intArg, def: 1, min: -8, max: 8}}},
}

// layerNames lists the known names for error messages.
func layerNames() string {
	names := make([]string, 0, len(layerDefs))
	for n := range layerDefs {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// ParseSpec parses an architecture spec, or a preset's name (see
// [Presets]). Errors are *SpecError values naming the token, its column
// and what was expected.
//
// The grammar: a line of layer tokens separated by white
// space; a token is a name, or a name with arguments in parentheses:
// numbers, positional first, then key=value. Spaces may follow commas.
//
//	conv(32,3,pad=1) relu maxpool(2) flatten linear(10)
//
// Names are case-insensitive. Each layer's arguments, in positional order,
// with their defaults (input sizes are never given: Build infers them):
//
//	linear(out, bias=1)
//	conv(out, k, stride=1, pad=0, dilation=1, groups=1, bias=1)
//	maxpool(k, stride=k, pad=0, dilation=1, ceil=0)
//	avgpool(k, stride=k, pad=0, ceil=0, include_pad=1)
//	globalavgpool
//	batchnorm(momentum=0.1, eps=1e-5, affine=1)   1-D or 2-D from the input's rank
//	layernorm(dims=all, eps=1e-5, affine=1)       over the last dims sample dimensions
//	dropout(p=0.5)
//	flatten relu tanh sigmoid silu
//	gelu(tanh=0) elu(alpha=1) softplus(beta=1, threshold=20) leakyrelu(slope=0.01)
//	softmax(dim=1) logsoftmax(dim=1)
//
// Flags (bias, ceil, include_pad, affine, tanh) are 0 or 1; integer
// arguments are at most 2²⁴, and a spec at most MaxSpecLen bytes.
// Softmax's dim counts the batch dimension, as in PyTorch. [Spec.String] gives the canonical form: leading arguments
// positionally, the rest as key=value, defaults left out.
func ParseSpec(text string) (Spec, error) {
	if len(text) > MaxSpecLen {
		return nil, &SpecError{Column: 1, Msg: fmt.Sprintf("spec of %d bytes, more than the limit of %d", len(text), MaxSpecLen)}
	}
	if p, ok := presets[strings.ToLower(strings.TrimSpace(text))]; ok {
		text = p
	}
	ps := &parser{s: text}
	var spec Spec
	for {
		ps.skipSpace()
		if ps.i >= len(ps.s) {
			break
		}
		l, err := ps.token()
		if err != nil {
			return nil, err
		}
		spec = append(spec, l)
	}
	if len(spec) == 0 {
		return nil, &SpecError{Column: 1, Msg: "empty spec: expected layer tokens such as \"flatten linear(10)\" or a preset (mlp, cnn)"}
	}
	return spec, nil
}

type parser struct {
	s string
	i int
}

func isSpace(c byte) bool  { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

func (p *parser) skipSpace() {
	for p.i < len(p.s) && isSpace(p.s[p.i]) {
		p.i++
	}
}

// tokenText is the token starting at start, for messages: up to the first
// white space outside parentheses, at most 40 bytes.
func (p *parser) tokenText(start int) string {
	depth, j := 0, start
	for j < len(p.s) && (depth > 0 || !isSpace(p.s[j])) {
		switch p.s[j] {
		case '(':
			depth++
		case ')':
			depth--
		}
		j++
	}
	t := p.s[start:j]
	if len(t) > 40 {
		t = t[:37] + "..."
	}
	return strings.ToValidUTF8(t, "?")
}

func (p *parser) errAt(start, col int, format string, args ...any) error {
	return &SpecError{Column: col + 1, Token: p.tokenText(start), Msg: fmt.Sprintf(format, args...)}
}

// found describes the input at position i for "expected X, found Y".
func (p *parser) found(i int) string {
	if i >= len(p.s) {
		return "the end of the spec"
	}
	r := []rune(p.s[i:min(len(p.s), i+4)])
	return strconv.QuoteRune(r[0])
}

func (p *parser) ident() string {
	start := p.i
	for p.i < len(p.s) && (isLetter(p.s[p.i]) || isDigit(p.s[p.i]) || p.s[p.i] == '_') {
		p.i++
	}
	return p.s[start:p.i]
}

func (p *parser) token() (LayerSpec, error) {
	start := p.i
	if !isLetter(p.s[p.i]) {
		return LayerSpec{}, p.errAt(start, p.i, "expected a layer name, found %s", p.found(p.i))
	}
	name := strings.ToLower(p.ident())
	def, ok := layerDefs[name]
	if !ok {
		return LayerSpec{}, p.errAt(start, start, "unknown layer %q (known: %s)", name, layerNames())
	}
	l := LayerSpec{Name: name, Args: map[string]float64{}, Column: start + 1}
	if p.i < len(p.s) && p.s[p.i] == '(' {
		if err := p.args(start, def, &l); err != nil {
			return LayerSpec{}, err
		}
	}
	if p.i < len(p.s) && !isSpace(p.s[p.i]) {
		return LayerSpec{}, p.errAt(start, p.i, "expected a space or the end after %s, found %s", name, p.found(p.i))
	}
	for _, a := range def.args {
		if math.IsNaN(a.def) {
			if _, ok := l.Args[a.name]; !ok {
				return LayerSpec{}, p.errAt(start, start, "%s needs argument %s: expected %s", name, a.name, usage(name))
			}
		}
	}
	return l, nil
}

// usage describes a layer's arguments, as in the package documentation.
func usage(name string) string {
	def := layerDefs[name]
	var parts []string
	for _, a := range def.args {
		switch {
		case math.IsNaN(a.def):
			parts = append(parts, strings.ToUpper(a.name))
		case (name == "maxpool" || name == "avgpool") && a.name == "stride":
			parts = append(parts, a.name+"=K")
		default:
			parts = append(parts, a.name+"="+strconv.FormatFloat(a.def, 'g', -1, 64))
		}
	}
	if len(parts) == 0 {
		return name + " (no arguments)"
	}
	return name + "(" + strings.Join(parts, ",") + ")"
}

// args parses "(...)" after a layer name into l.Args.
func (p *parser) args(start int, def layerDef, l *LayerSpec) error {
	p.i++ // '('
	npos, keyed := 0, false
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == ')' {
		p.i++
		return nil
	}
	for {
		p.skipSpace()
		argStart := p.i
		var a argDef
		if p.i < len(p.s) && isLetter(p.s[p.i]) {
			key := strings.ToLower(p.ident())
			i := slices.IndexFunc(def.args, func(a argDef) bool { return a.name == key })
			if i < 0 {
				if len(def.args) == 0 {
					return p.errAt(start, argStart, "%s takes no arguments", l.Name)
				}
				return p.errAt(start, argStart, "unknown argument %q: expected %s", key, usage(l.Name))
			}
			a = def.args[i]
			p.skipSpace()
			if p.i >= len(p.s) || p.s[p.i] != '=' {
				return p.errAt(start, p.i, "expected '=' after %s, found %s", key, p.found(p.i))
			}
			p.i++
			p.skipSpace()
			keyed = true
		} else {
			if keyed {
				return p.errAt(start, argStart, "positional argument after key=value: expected %s", usage(l.Name))
			}
			if npos >= len(def.args) {
				if len(def.args) == 0 {
					return p.errAt(start, argStart, "%s takes no arguments", l.Name)
				}
				return p.errAt(start, argStart, "too many arguments: expected %s", usage(l.Name))
			}
			a = def.args[npos]
			npos++
		}
		if _, dup := l.Args[a.name]; dup {
			return p.errAt(start, argStart, "argument %s given twice", a.name)
		}
		numStart := p.i
		v, ok := p.number()
		if !ok {
			return p.errAt(start, numStart, "expected a number for %s, found %s", a.name, p.found(numStart))
		}
		if err := checkArg(a, v); err != nil {
			return p.errAt(start, numStart, "%s of %s: %v", a.name, l.Name, err)
		}
		l.Args[a.name] = v
		p.skipSpace()
		if p.i >= len(p.s) {
			return p.errAt(start, p.i, "expected ',' or ')', found the end of the spec")
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case ')':
			p.i++
			return nil
		default:
			return p.errAt(start, p.i, "expected ',' or ')', found %s", p.found(p.i))
		}
	}
}

// number scans [+-]digits[.digits][e[+-]digits] (or .digits).
func (p *parser) number() (float64, bool) {
	start := p.i
	if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
		p.i++
	}
	digits := 0
	for p.i < len(p.s) && isDigit(p.s[p.i]) {
		p.i++
		digits++
	}
	if p.i < len(p.s) && p.s[p.i] == '.' {
		p.i++
		for p.i < len(p.s) && isDigit(p.s[p.i]) {
			p.i++
			digits++
		}
	}
	if digits == 0 {
		p.i = start
		return 0, false
	}
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		j := p.i + 1
		if j < len(p.s) && (p.s[j] == '+' || p.s[j] == '-') {
			j++
		}
		if j < len(p.s) && isDigit(p.s[j]) {
			for j < len(p.s) && isDigit(p.s[j]) {
				j++
			}
			p.i = j
		}
	}
	v, err := strconv.ParseFloat(p.s[start:p.i], 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		p.i = start
		return 0, false
	}
	return v, true
}

func checkArg(a argDef, v float64) error {
	switch a.kind {
	case intArg:
		if v != math.Trunc(v) {
			return fmt.Errorf("expected a whole number, found %v", v)
		}
	case flagArg:
		if v != 0 && v != 1 {
			return fmt.Errorf("expected 0 or 1, found %v", v)
		}
	}
	if v < a.min || v > a.max {
		if a.max == maxSpecInt {
			return fmt.Errorf("expected at least %v (and at most %d), found %v", a.min, maxSpecInt, v)
		}
		return fmt.Errorf("expected a number in [%v, %v], found %v", a.min, a.max, v)
	}
	return nil
}

// get returns an argument's value, or its default.
func (l LayerSpec) get(name string) float64 {
	if v, ok := l.Args[name]; ok {
		return v
	}
	for _, a := range layerDefs[l.Name].args {
		if a.name == name {
			return a.def
		}
	}
	panic("nn: no argument " + name + " for " + l.Name)
}

func (l LayerSpec) getInt(name string) int { return int(l.get(name)) }

// String returns the token in canonical form: the leading arguments
// positionally, the others as key=value, each only when it differs from
// its default (dropout's p always), numbers in their shortest form.
func (l LayerSpec) String() string {
	def := layerDefs[l.Name]
	var parts []string
	for i, a := range def.args {
		v, ok := l.Args[a.name]
		if !ok && !a.always {
			continue
		}
		if !ok {
			v = a.def
		}
		if !a.always && isDefault(l, a, v) {
			continue
		}
		s := formatArg(a, v)
		if i >= def.positional {
			s = a.name + "=" + s
		} else if i > 0 && len(parts) < i {
			// An earlier positional argument was left out at its default:
			// this one must be named.
			s = a.name + "=" + s
		}
		parts = append(parts, s)
	}
	return withArgs(l.Name, parts...)
}

func isDefault(l LayerSpec, a argDef, v float64) bool {
	if math.IsNaN(a.def) {
		return false
	}
	if a.name == "stride" && (l.Name == "maxpool" || l.Name == "avgpool") {
		return v == l.get("k")
	}
	if a.kind == floatArg {
		return float32(v) == float32(a.def)
	}
	return v == a.def
}

func formatArg(a argDef, v float64) string {
	if a.kind == floatArg {
		return formatFloat(float32(v))
	}
	return strconv.FormatInt(int64(v), 10)
}

// String returns the spec in canonical form, tokens joined by spaces.
func (s Spec) String() string {
	toks := make([]string, len(s))
	for i, l := range s {
		toks[i] = l.String()
	}
	return strings.Join(toks, " ")
}
