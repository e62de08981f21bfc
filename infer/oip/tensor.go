package oip

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Tensor is one named input or output. Data holds the elements in row-major
// order as the Go slice type of Datatype ([]float32 for FP32, []bool for
// BOOL, …), with exactly as many elements as the shape's product.
type Tensor struct {
	Name     string
	Datatype Datatype
	Shape    []int64
	Data     any
}

// Elements returns the product of shape, or an error if a dimension is
// negative, the rank is over MaxRank or the product is over limit.
func Elements(shape []int64, limit int64) (int64, error) {
	if len(shape) > MaxRank {
		return 0, fmt.Errorf("%w: rank %d (limit %d)", ErrTooLarge, len(shape), MaxRank)
	}
	n := int64(1)
	for i, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("%w: dimension %d is %d", ErrMalformed, i, d)
		}
		if d != 0 && n > limit/d {
			return 0, fmt.Errorf("%w: more than %d elements", ErrTooLarge, limit)
		}
		n *= d
	}
	if n > limit {
		return 0, fmt.Errorf("%w: %d elements (limit %d)", ErrTooLarge, n, limit)
	}
	return n, nil
}

// dataLen returns the length of a typed data slice and whether its Go type
// matches dt.
func dataLen(dt Datatype, data any) (int, bool) {
	switch v := data.(type) {
	case []bool:
		return len(v), dt == Bool
	case []uint8:
		return len(v), dt == Uint8
	case []int8:
		return len(v), dt == Int8
	case []int32:
		return len(v), dt == Int32
	case []int64:
		return len(v), dt == Int64
	case []float32:
		return len(v), dt == FP32
	case []float64:
		return len(v), dt == FP64
	}
	return 0, false
}

// Validate checks that t's name, datatype, shape and data agree.
func (t *Tensor) Validate() error {
	if t.Name == "" || len(t.Name) > MaxNameSize {
		return fmt.Errorf("%w: tensor name of %d bytes", ErrMalformed, len(t.Name))
	}
	n, err := Elements(t.Shape, MaxElements)
	if err != nil {
		return fmt.Errorf("tensor %q shape: %w", clip(t.Name), err)
	}
	l, ok := dataLen(t.Datatype, t.Data)
	if !ok {
		return fmt.Errorf("%w: tensor %q: data is %T, datatype %s", ErrMalformed, clip(t.Name), t.Data, t.Datatype)
	}
	if int64(l) != n {
		return fmt.Errorf("%w: tensor %q: %d elements for shape %v", ErrMalformed, clip(t.Name), l, t.Shape)
	}
	return nil
}

// dataParser decodes a tensor's "data" member: a flat array of n scalars,
// or nested arrays whose lengths are the shape's dimensions. It works on
// the raw JSON bytes so no intermediate []any of boxed numbers is built.
type dataParser struct {
	b     []byte
	pos   int
	dt    Datatype
	shape []int64
	out   any // typed slice, appended to
}

// errData is the cause inside a data error; the FieldError built from it
// names the position, never the value.
func (p *dataParser) fail(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: at byte %d: %s", sentinel, p.pos, fmt.Sprintf(format, args...))
}

// decodeData parses raw (valid or not) into a typed slice of n elements.
func decodeData(raw []byte, dt Datatype, shape []int64, n int64) (any, error) {
	p := &dataParser{b: raw, dt: dt, shape: shape}
	// n elements take at least 2n+1 bytes ("[0,0]"). Checking before the
	// allocation below keeps a small body with a huge declared shape from
	// making the service allocate MaxElements slots for nothing.
	if 2*n+1 > int64(len(raw)) && n > 0 {
		return nil, p.fail(ErrMalformed, "%d bytes cannot hold the %d elements of shape %v", len(raw), n, shape)
	}
	switch dt {
	case Bool:
		p.out = make([]bool, 0, n)
	case Uint8:
		p.out = make([]uint8, 0, n)
	case Int8:
		p.out = make([]int8, 0, n)
	case Int32:
		p.out = make([]int32, 0, n)
	case Int64:
		p.out = make([]int64, 0, n)
	case FP32:
		p.out = make([]float32, 0, n)
	case FP64:
		p.out = make([]float64, 0, n)
	default:
		return nil, fmt.Errorf("%w: datatype %s", ErrMalformed, dt)
	}
	p.ws()
	if p.peek() != '[' {
		return nil, p.fail(ErrMalformed, "data is not an array")
	}
	// Nested when the first element is itself an array; a rank-0 or rank-1
	// tensor has only the flat form.
	nested := false
	if len(shape) > 1 {
		save := p.pos
		p.pos++
		p.ws()
		nested = p.peek() == '['
		p.pos = save
	}
	if nested {
		if err := p.nestedArray(0); err != nil {
			return nil, err
		}
	} else {
		count, err := p.flatArray(n)
		if err != nil {
			return nil, err
		}
		if count != n {
			return nil, p.fail(ErrMalformed, "%d elements for shape %v (%d)", count, shape, n)
		}
	}
	p.ws()
	if p.pos != len(p.b) {
		return nil, p.fail(ErrMalformed, "trailing data after the array")
	}
	return p.out, nil
}

func (p *dataParser) ws() {
	for p.pos < len(p.b) {
		switch p.b[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *dataParser) peek() byte {
	if p.pos < len(p.b) {
		return p.b[p.pos]
	}
	return 0
}

// flatArray parses "[s, s, …]" of scalars, refusing more than max.
func (p *dataParser) flatArray(max int64) (int64, error) {
	p.pos++ // '['
	p.ws()
	if p.peek() == ']' {
		p.pos++
		return 0, nil
	}
	var count int64
	for {
		if count == max {
			return 0, p.fail(ErrMalformed, "more than %d elements for shape %v", max, p.shape)
		}
		if err := p.scalar(); err != nil {
			return 0, err
		}
		count++
		p.ws()
		switch p.peek() {
		case ',':
			p.pos++
			p.ws()
		case ']':
			p.pos++
			return count, nil
		default:
			return 0, p.fail(ErrMalformed, "expected ',' or ']'")
		}
	}
}

// nestedArray parses the array at depth, whose length must be
// shape[depth]; its elements are arrays above the last dimension and
// scalars at it. Recursion is bounded by the rank (≤ MaxRank).
func (p *dataParser) nestedArray(depth int) error {
	if p.peek() != '[' {
		return p.fail(ErrMalformed, "expected an array at depth %d", depth)
	}
	if depth == len(p.shape)-1 {
		count, err := p.flatArray(p.shape[depth])
		if err != nil {
			return err
		}
		if count != p.shape[depth] {
			return p.fail(ErrMalformed, "array of %d at depth %d, shape says %d", count, depth, p.shape[depth])
		}
		return nil
	}
	p.pos++
	p.ws()
	var count int64
	if p.peek() == ']' {
		p.pos++
	} else {
		for {
			if count == p.shape[depth] {
				return p.fail(ErrMalformed, "more than %d arrays at depth %d", p.shape[depth], depth)
			}
			if err := p.nestedArray(depth + 1); err != nil {
				return err
			}
			count++
			p.ws()
			if p.peek() == ',' {
				p.pos++
				p.ws()
				continue
			}
			if p.peek() == ']' {
				p.pos++
				break
			}
			return p.fail(ErrMalformed, "expected ',' or ']'")
		}
	}
	if count != p.shape[depth] {
		return p.fail(ErrMalformed, "array of %d at depth %d, shape says %d", count, depth, p.shape[depth])
	}
	return nil
}

var errRange = errors.New("out of range")

// scalar parses one element and appends it to out.
func (p *dataParser) scalar() error {
	start := p.pos
	if p.dt == Bool {
		switch {
		case hasPrefix(p.b[p.pos:], "true"):
			p.pos += 4
			p.out = append(p.out.([]bool), true)
		case hasPrefix(p.b[p.pos:], "false"):
			p.pos += 5
			p.out = append(p.out.([]bool), false)
		default:
			return p.fail(ErrMalformed, "BOOL element is not true or false")
		}
		return nil
	}
	integer, ok := p.number()
	if !ok {
		p.pos = start
		return p.fail(ErrMalformed, "%s element is not a JSON number", p.dt)
	}
	s := string(p.b[start:p.pos])
	var err error
	switch p.dt {
	case Uint8, Int8, Int32, Int64:
		if !integer {
			p.pos = start
			return p.fail(ErrMalformed, "%s element is not an integer", p.dt)
		}
		err = p.appendInt(s)
	case FP32:
		var f float64
		f, err = strconv.ParseFloat(s, 32)
		if err == nil {
			p.out = append(p.out.([]float32), float32(f))
		}
	case FP64:
		var f float64
		f, err = strconv.ParseFloat(s, 64)
		if err == nil {
			p.out = append(p.out.([]float64), f)
		}
	}
	if err != nil {
		p.pos = start
		return p.fail(ErrMalformed, "%s element out of range", p.dt)
	}
	return nil
}

func (p *dataParser) appendInt(s string) error {
	switch p.dt {
	case Uint8:
		v, err := strconv.ParseUint(s, 10, 8)
		if err != nil {
			return errRange
		}
		p.out = append(p.out.([]uint8), uint8(v))
	case Int8:
		v, err := strconv.ParseInt(s, 10, 8)
		if err != nil {
			return errRange
		}
		p.out = append(p.out.([]int8), int8(v))
	case Int32:
		v, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return errRange
		}
		p.out = append(p.out.([]int32), int32(v))
	case Int64:
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return errRange
		}
		p.out = append(p.out.([]int64), v)
	}
	return nil
}

// number advances over a JSON number (RFC 8259 §6) and reports whether it
// had no fraction or exponent. strconv alone would also take "inf",
// "0x1p3" and "1_0", which JSON does not allow.
func (p *dataParser) number() (integer, ok bool) {
	b, i := p.b, p.pos
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return false, false
	}
	integer = true
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return false, false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
		integer = false
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return false, false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
		integer = false
	}
	p.pos = i
	return integer, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func hasPrefix(b []byte, s string) bool { return len(b) >= len(s) && string(b[:len(s)]) == s }

// appendData appends t's data as a flat JSON array. It fails on a NaN or
// infinite float, which JSON cannot carry.
func appendData(b []byte, t *Tensor) ([]byte, error) {
	b = append(b, '[')
	switch v := t.Data.(type) {
	case []bool:
		for i, x := range v {
			b = comma(b, i)
			b = strconv.AppendBool(b, x)
		}
	case []uint8:
		for i, x := range v {
			b = comma(b, i)
			b = strconv.AppendUint(b, uint64(x), 10)
		}
	case []int8:
		for i, x := range v {
			b = comma(b, i)
			b = strconv.AppendInt(b, int64(x), 10)
		}
	case []int32:
		for i, x := range v {
			b = comma(b, i)
			b = strconv.AppendInt(b, int64(x), 10)
		}
	case []int64:
		for i, x := range v {
			b = comma(b, i)
			b = strconv.AppendInt(b, x, 10)
		}
	case []float32:
		for i, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, fmt.Errorf("%w: tensor %q: element %d is not finite", ErrMalformed, clip(t.Name), i)
			}
			b = comma(b, i)
			b = strconv.AppendFloat(b, float64(x), 'g', -1, 32)
		}
	case []float64:
		for i, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("%w: tensor %q: element %d is not finite", ErrMalformed, clip(t.Name), i)
			}
			b = comma(b, i)
			b = strconv.AppendFloat(b, x, 'g', -1, 64)
		}
	default:
		return nil, fmt.Errorf("%w: tensor %q: data is %T", ErrMalformed, clip(t.Name), t.Data)
	}
	return append(b, ']'), nil
}

func comma(b []byte, i int) []byte {
	if i > 0 {
		return append(b, ',')
	}
	return b
}
