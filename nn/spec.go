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
	// Args holds the number arguments given, positional ones under their
	// names ("out", "k"); defaults are not filled in.
	Args map[string]float64
	// Text holds the string arguments given (act="gelu"); nil when none.
	Text map[string]string
	// Body is the nested sequence of layers of a layer that takes one
	// (see LayerDef.Body), such as residual's; nil otherwise.
	Body Spec
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

// MaxSpecLen is the longest spec ParseSpec accepts, in bytes: far more
// than any real model's (a hundred layers take about 2 KB), and a bound on
// what parsing a spec taken from a file can allocate.
const MaxSpecLen = 1 << 16

// maxSpecInt bounds every integer argument; larger sizes are surely typos
// and would overflow size computations.
const maxSpecInt = 1 << 24

// layerNames lists the known names for error messages.
func layerNames() string { return strings.Join(LayerNames(), ", ") }

// ParseSpec parses an architecture spec, or a preset's name (see
// [Presets]). Errors are *SpecError values naming the token, its column
// and what was expected.
//
// The grammar: a line of layer tokens separated by white
// space; a token is a name, or a name with arguments in parentheses:
// values, positional first, then key=value, and last, for a layer that
// takes one, a body. Spaces may follow commas.
//
//	conv(32,3,pad=1) relu maxpool(2) flatten linear(10)
//	conv(16,3,pad=1) residual(conv(16,3,pad=1) relu conv(16,3,pad=1)) relu
//
// A value is a number, or, for a string argument, text in double quotes
// ("gelu", which may hold anything but a double quote and a newline) or,
// after key=, a bare identifier (act=gelu). A body is a sequence of layer
// tokens, as at the top level, that runs to the closing parenthesis; bodies
// nest up to MaxSpecDepth deep.
//
// Names are case-insensitive. The built-in layers' arguments, in
// positional order, with their defaults (input sizes are never given:
// Build infers them):
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
//	residual(BODY)                                 y = body(x) + x (+ shortcut(x): 1×1 conv, batchnorm when the shape changes); state "N.0.weight", "N.shortcut.0.weight"
//
// Flags (bias, ceil, include_pad, affine, tanh) are 0 or 1; integer
// arguments are at most 2²⁴, and a spec at most MaxSpecLen bytes.
// Softmax's dim counts the batch dimension, as in PyTorch. Other layers
// join the grammar with [Register]. [Spec.String] gives the canonical
// form: leading arguments positionally, the rest as key=value, defaults
// left out, strings bare where they are identifiers after key=.
func ParseSpec(text string) (Spec, error) {
	if len(text) > MaxSpecLen {
		return nil, &SpecError{Column: 1, Msg: fmt.Sprintf("spec of %d bytes, more than the limit of %d", len(text), MaxSpecLen)}
	}
	if p, ok := presets[strings.ToLower(strings.TrimSpace(text))]; ok {
		text = p
	}
	ps := &parser{s: text}
	spec, err := ps.sequence(0)
	if err != nil {
		return nil, err
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

// sequence parses layer tokens up to the end of the text or, in a body
// (depth > 0), up to the ')' that closes it, which it leaves unread.
func (p *parser) sequence(depth int) (Spec, error) {
	var spec Spec
	for {
		p.skipSpace()
		if p.i >= len(p.s) || p.s[p.i] == ')' && depth > 0 {
			return spec, nil
		}
		l, err := p.token(depth)
		if err != nil {
			return nil, err
		}
		spec = append(spec, l)
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

func (p *parser) token(depth int) (LayerSpec, error) {
	start := p.i
	if !isLetter(p.s[p.i]) {
		return LayerSpec{}, p.errAt(start, p.i, "expected a layer name, found %s", p.found(p.i))
	}
	name := strings.ToLower(p.ident())
	def, ok := lookupLayer(name)
	if !ok {
		return LayerSpec{}, p.errAt(start, start, "unknown layer %q (known: %s)", name, layerNames())
	}
	l := LayerSpec{Name: name, Args: map[string]float64{}, Column: start + 1}
	if p.i < len(p.s) && p.s[p.i] == '(' {
		if def.Body && depth+1 > MaxSpecDepth {
			return LayerSpec{}, p.errAt(start, start, "bodies nested more than %d deep", MaxSpecDepth)
		}
		if err := p.args(start, depth, def, &l); err != nil {
			return LayerSpec{}, err
		}
	}
	if p.i < len(p.s) && !isSpace(p.s[p.i]) && !(depth > 0 && p.s[p.i] == ')') {
		return LayerSpec{}, p.errAt(start, p.i, "expected a space or the end after %s, found %s", name, p.found(p.i))
	}
	for _, a := range def.Args {
		if !a.Required {
			continue
		}
		_, num := l.Args[a.Name]
		_, txt := l.Text[a.Name]
		if !num && !txt {
			return LayerSpec{}, p.errAt(start, start, "%s needs argument %s: expected %s", name, a.Name, usage(def))
		}
	}
	if def.Body && len(l.Body) == 0 {
		return LayerSpec{}, p.errAt(start, start, "%s needs a body, a sequence of layers: expected %s", name, usage(def))
	}
	return l, nil
}

// usage describes a layer's arguments, as in the package documentation.
func usage(def *LayerDef) string {
	var parts []string
	for _, a := range def.Args {
		switch {
		case a.Required:
			parts = append(parts, strings.ToUpper(a.Name))
		case a.DefaultFrom != "":
			parts = append(parts, a.Name+"="+strings.ToUpper(a.DefaultFrom))
		case a.Kind == StringArg:
			parts = append(parts, a.Name+"="+formatText(a.DefaultText, true))
		default:
			parts = append(parts, a.Name+"="+strconv.FormatFloat(a.Default, 'g', -1, 64))
		}
	}
	if def.Body {
		parts = append(parts, "BODY")
	}
	if len(parts) == 0 {
		return def.Name + " (no arguments)"
	}
	return def.Name + "(" + strings.Join(parts, ",") + ")"
}

// args parses "(...)" after a layer name into l.
func (p *parser) args(start, depth int, def *LayerDef, l *LayerSpec) error {
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
		var a Arg
		if p.i < len(p.s) && isLetter(p.s[p.i]) {
			key := strings.ToLower(p.ident())
			if def.Body {
				// An identifier not followed by '=' starts the body.
				j := p.i
				for j < len(p.s) && isSpace(p.s[j]) {
					j++
				}
				if j >= len(p.s) || p.s[j] != '=' {
					p.i = argStart
					body, err := p.sequence(depth + 1)
					if err != nil {
						return err
					}
					l.Body = body
					if p.i >= len(p.s) {
						return p.errAt(start, p.i, "expected ')' after the body of %s, found the end of the spec", l.Name)
					}
					p.i++ // ')'
					return nil
				}
			}
			i := slices.IndexFunc(def.Args, func(a Arg) bool { return a.Name == key })
			if i < 0 {
				if len(def.Args) == 0 {
					return p.errAt(start, argStart, "%s takes no arguments", l.Name)
				}
				return p.errAt(start, argStart, "unknown argument %q: expected %s", key, usage(def))
			}
			a = def.Args[i]
			p.skipSpace()
			if p.i >= len(p.s) || p.s[p.i] != '=' {
				return p.errAt(start, p.i, "expected '=' after %s, found %s", key, p.found(p.i))
			}
			p.i++
			p.skipSpace()
			keyed = true
		} else {
			if keyed {
				return p.errAt(start, argStart, "positional argument after key=value: expected %s", usage(def))
			}
			if npos >= len(def.Args) {
				if len(def.Args) == 0 && !def.Body {
					return p.errAt(start, argStart, "%s takes no arguments", l.Name)
				}
				return p.errAt(start, argStart, "too many arguments: expected %s", usage(def))
			}
			a = def.Args[npos]
			npos++
		}
		_, dupNum := l.Args[a.Name]
		_, dupText := l.Text[a.Name]
		if dupNum || dupText {
			return p.errAt(start, argStart, "argument %s given twice", a.Name)
		}
		valStart := p.i
		if a.Kind == StringArg {
			v, ok := p.text(keyed)
			if !ok {
				return p.errAt(start, valStart, "expected a string for %s (in double quotes, or an identifier after %s=), found %s", a.Name, a.Name, p.found(valStart))
			}
			if err := checkText(a, v); err != nil {
				return p.errAt(start, valStart, "%s of %s: %v", a.Name, l.Name, err)
			}
			if l.Text == nil {
				l.Text = map[string]string{}
			}
			l.Text[a.Name] = v
		} else {
			v, ok := p.number()
			if !ok {
				return p.errAt(start, valStart, "expected a number for %s, found %s", a.Name, p.found(valStart))
			}
			if err := checkArg(a, v); err != nil {
				return p.errAt(start, valStart, "%s of %s: %v", a.Name, l.Name, err)
			}
			l.Args[a.Name] = v
		}
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

// text scans a string value: "..." (no double quote or newline inside),
// or, when bare is true, an identifier.
func (p *parser) text(bare bool) (string, bool) {
	if p.i < len(p.s) && p.s[p.i] == '"' {
		j := p.i + 1
		for j < len(p.s) && p.s[j] != '"' && p.s[j] != '\n' {
			j++
		}
		if j >= len(p.s) || p.s[j] != '"' {
			return "", false
		}
		v := p.s[p.i+1 : j]
		p.i = j + 1
		return v, true
	}
	if bare && p.i < len(p.s) && isLetter(p.s[p.i]) {
		return p.ident(), true
	}
	return "", false
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

func checkArg(a Arg, v float64) error {
	switch a.Kind {
	case IntArg:
		if v != math.Trunc(v) {
			return fmt.Errorf("expected a whole number, found %v", v)
		}
	case FlagArg:
		if v != 0 && v != 1 {
			return fmt.Errorf("expected 0 or 1, found %v", v)
		}
	}
	if v < a.Min || v > a.Max {
		if a.Max == maxSpecInt {
			return fmt.Errorf("expected at least %v (and at most %d), found %v", a.Min, maxSpecInt, v)
		}
		return fmt.Errorf("expected a number in [%v, %v], found %v", a.Min, a.Max, v)
	}
	return nil
}

func checkText(a Arg, v string) error {
	if strings.ContainsAny(v, "\"\n") {
		return fmt.Errorf("a string may not hold a double quote or a newline")
	}
	if a.Choices != nil && !slices.Contains(a.Choices, v) {
		return fmt.Errorf("expected one of %s, found %q", strings.Join(a.Choices, ", "), v)
	}
	return nil
}

// def returns l's layer definition; l came from ParseSpec, so it exists.
func (l LayerSpec) def() *LayerDef {
	d, ok := lookupLayer(l.Name)
	if !ok {
		panic("nn: no layer " + l.Name)
	}
	return d
}

func (l LayerSpec) arg(name string) Arg {
	for _, a := range l.def().Args {
		if a.Name == name {
			return a
		}
	}
	panic("nn: no argument " + name + " for " + l.Name)
}

// Float returns a number argument's value, or its default. It panics on
// a name the layer does not declare (a programming error in a Build
// function).
func (l LayerSpec) Float(name string) float64 {
	if v, ok := l.Args[name]; ok {
		return v
	}
	a := l.arg(name)
	if a.DefaultFrom != "" {
		return l.Float(a.DefaultFrom)
	}
	return a.Default
}

// Int returns an integer argument's value, or its default.
func (l LayerSpec) Int(name string) int { return int(l.Float(name)) }

// Flag returns a flag argument's value, or its default, as a bool.
func (l LayerSpec) Flag(name string) bool { return l.Float(name) == 1 }

// TextArg returns a string argument's value, or its default.
func (l LayerSpec) TextArg(name string) string {
	if v, ok := l.Text[name]; ok {
		return v
	}
	return l.arg(name).DefaultText
}

// String returns the token in canonical form: the leading arguments
// positionally, the others as key=value, each only when it differs from
// its default (dropout's p always), numbers in their shortest form,
// strings quoted (bare after key= when they are identifiers), then the
// body.
func (l LayerSpec) String() string {
	def := l.def()
	var parts []string
	for i, a := range def.Args {
		var s string
		if a.Kind == StringArg {
			v, ok := l.Text[a.Name]
			if !ok && !a.Always {
				continue
			}
			if !ok {
				v = a.DefaultText
			}
			if !a.Always && !a.Required && v == a.DefaultText {
				continue
			}
			named := i >= def.Positional || i > 0 && len(parts) < i
			s = formatText(v, named)
			if named {
				s = a.Name + "=" + s
			}
			parts = append(parts, s)
			continue
		}
		v, ok := l.Args[a.Name]
		if !ok && !a.Always {
			continue
		}
		if !ok {
			v = l.Float(a.Name)
		}
		if !a.Always && isDefault(l, a, v) {
			continue
		}
		s = formatArg(a, v)
		if i >= def.Positional {
			s = a.Name + "=" + s
		} else if i > 0 && len(parts) < i {
			// An earlier positional argument was left out at its default:
			// this one must be named.
			s = a.Name + "=" + s
		}
		parts = append(parts, s)
	}
	if len(l.Body) > 0 {
		parts = append(parts, l.Body.String())
	}
	return withArgs(l.Name, parts...)
}

func isDefault(l LayerSpec, a Arg, v float64) bool {
	if a.Required {
		return false
	}
	if a.DefaultFrom != "" {
		return v == l.Float(a.DefaultFrom)
	}
	if a.Kind == FloatArg {
		return float32(v) == float32(a.Default)
	}
	return v == a.Default
}

func formatArg(a Arg, v float64) string {
	if a.Kind == FloatArg {
		return formatFloat(float32(v))
	}
	return strconv.FormatInt(int64(v), 10)
}

// formatText writes a string value: bare when it may be (after key=) and
// is an identifier, quoted otherwise.
func formatText(v string, bare bool) string {
	if bare && isIdent(v) {
		return v
	}
	return `"` + v + `"`
}

// String returns the spec in canonical form, tokens joined by spaces.
func (s Spec) String() string {
	toks := make([]string, len(s))
	for i, l := range s {
		toks[i] = l.String()
	}
	return strings.Join(toks, " ")
}
