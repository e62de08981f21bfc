package oip

import "fmt"

// Datatype is a tensor element type of the protocol. The zero value is
// invalid. Do not reorder: values are compared, never stored.
type Datatype int

const (
	DatatypeInvalid Datatype = iota
	Bool                     // BOOL, Go []bool
	Uint8                    // UINT8, Go []uint8
	Int8                     // INT8, Go []int8
	Int32                    // INT32, Go []int32
	Int64                    // INT64, Go []int64
	FP32                     // FP32, Go []float32
	FP64                     // FP64, Go []float64
)

var datatypeNames = [...]string{
	DatatypeInvalid: "INVALID",
	Bool:            "BOOL",
	Uint8:           "UINT8",
	Int8:            "INT8",
	Int32:           "INT32",
	Int64:           "INT64",
	FP32:            "FP32",
	FP64:            "FP64",
}

// unsupportedDatatypes are protocol datatypes this package refuses with
// ErrUnsupported rather than ErrMalformed, so a client learns the type is
// known but not served.
var unsupportedDatatypes = map[string]bool{
	"UINT16": true, "UINT32": true, "UINT64": true, "INT16": true, "FP16": true, "BF16": true, "BYTES": true,
}

// String returns the protocol name ("FP32").
func (d Datatype) String() string {
	if d < 0 || int(d) >= len(datatypeNames) {
		return fmt.Sprintf("Datatype(%d)", int(d))
	}
	return datatypeNames[d]
}

// ParseDatatype returns the Datatype with the protocol name s. Names are
// case-sensitive, as the protocol says.
func ParseDatatype(s string) (Datatype, error) {
	for d := Bool; d <= FP64; d++ {
		if datatypeNames[d] == s {
			return d, nil
		}
	}
	if unsupportedDatatypes[s] {
		return DatatypeInvalid, fmt.Errorf("%w: datatype %s", ErrUnsupported, s)
	}
	return DatatypeInvalid, fmt.Errorf("%w: unknown datatype %q", ErrMalformed, clip(s))
}

// MarshalText implements encoding.TextMarshaler.
func (d Datatype) MarshalText() ([]byte, error) {
	if d <= DatatypeInvalid || d > FP64 {
		return nil, fmt.Errorf("oip: marshal invalid datatype %d", int(d))
	}
	return []byte(d.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Datatype) UnmarshalText(b []byte) error {
	v, err := ParseDatatype(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// clip shortens caller-chosen text before it goes into an error or a log.
func clip(s string) string {
	const n = 64
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
