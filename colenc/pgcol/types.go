package pgcol

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Type is a column's SQL type. Plain columns are stored as that type;
// encrypted columns are stored as bytea and the type says how the value was
// encoded before encryption, so a reader gets the typed value back.
type Type string

// The supported types and their Go values.
const (
	BigInt      Type = "bigint"           // int64
	Double      Type = "double precision" // float64
	Boolean     Type = "boolean"          // bool
	Text        Type = "text"             // string
	Bytea       Type = "bytea"            // []byte
	Timestamptz Type = "timestamptz"      // time.Time
	Date        Type = "date"             // time.Time (midnight UTC)
)

func (t Type) valid() bool {
	switch t {
	case BigInt, Double, Boolean, Text, Bytea, Timestamptz, Date:
		return true
	}
	return false
}

// encode turns a value into the bytes a scheme encrypts.
//
// cofre-v2 uses fixed big-endian encodings (int64; IEEE-754 bits; one byte
// for a boolean; UTF-8; microseconds since the Unix epoch, UTC; days since
// the epoch). The Always Encrypted schemes use SQL Server's normalization
// of the nearest SQL Server type, so a cell could move to SQL Server:
// bigint as 8 bytes little-endian, float as IEEE-754 little-endian,
// nvarchar as UTF-16LE, varbinary as is, bit as 8 bytes little-endian
// (SQL Server normalizes bit to a 64-bit integer); timestamptz and date
// are refused (their SQL Server encodings depend on declared precision).
func encode(s Scheme, t Type, v any) ([]byte, error) {
	ae := s != SchemeV2
	switch t {
	case BigInt:
		n, ok := v.(int64)
		if !ok {
			return nil, typeErr(t, v)
		}
		if ae {
			return binary.LittleEndian.AppendUint64(nil, uint64(n)), nil
		}
		return binary.BigEndian.AppendUint64(nil, uint64(n)), nil
	case Double:
		f, ok := v.(float64)
		if !ok {
			return nil, typeErr(t, v)
		}
		if ae {
			return binary.LittleEndian.AppendUint64(nil, math.Float64bits(f)), nil
		}
		return binary.BigEndian.AppendUint64(nil, math.Float64bits(f)), nil
	case Boolean:
		b, ok := v.(bool)
		if !ok {
			return nil, typeErr(t, v)
		}
		var n byte
		if b {
			n = 1
		}
		if ae {
			return binary.LittleEndian.AppendUint64(nil, uint64(n)), nil
		}
		return []byte{n}, nil
	case Text:
		str, ok := v.(string)
		if !ok {
			return nil, typeErr(t, v)
		}
		if !utf8.ValidString(str) {
			return nil, fmt.Errorf("%w: text value is not UTF-8", ErrValue)
		}
		if ae {
			out := make([]byte, 0, 2*len(str))
			for _, u := range utf16.Encode([]rune(str)) {
				out = binary.LittleEndian.AppendUint16(out, u)
			}
			return out, nil
		}
		return []byte(str), nil
	case Bytea:
		b, ok := v.([]byte)
		if !ok {
			return nil, typeErr(t, v)
		}
		return append([]byte{}, b...), nil
	case Timestamptz, Date:
		if ae {
			return nil, fmt.Errorf("%w: %s columns cannot use %s (use %s)", ErrSchema, t, s, SchemeV2)
		}
		tm, ok := v.(time.Time)
		if !ok {
			return nil, typeErr(t, v)
		}
		if t == Date {
			days := tm.UTC().Unix() / 86400
			if tm.UTC().Unix() < 0 && tm.UTC().Unix()%86400 != 0 {
				days--
			}
			return binary.BigEndian.AppendUint32(nil, uint32(int32(days))), nil
		}
		return binary.BigEndian.AppendUint64(nil, uint64(tm.UnixMicro())), nil
	}
	return nil, fmt.Errorf("%w: type %q", ErrSchema, t)
}

// decode is encode's inverse. Its input has passed authentication, but it
// still checks lengths: a cell from another scheme's column must not panic.
func decode(s Scheme, t Type, b []byte) (any, error) {
	ae := s != SchemeV2
	fixed := func(n int) error {
		if len(b) != n {
			return fmt.Errorf("%w: %s value of %d bytes, want %d", ErrValue, t, len(b), n)
		}
		return nil
	}
	switch t {
	case BigInt, Double:
		if err := fixed(8); err != nil {
			return nil, err
		}
		u := binary.BigEndian.Uint64(b)
		if ae {
			u = binary.LittleEndian.Uint64(b)
		}
		if t == BigInt {
			return int64(u), nil
		}
		return math.Float64frombits(u), nil
	case Boolean:
		if ae {
			if err := fixed(8); err != nil {
				return nil, err
			}
			return binary.LittleEndian.Uint64(b) != 0, nil
		}
		if err := fixed(1); err != nil {
			return nil, err
		}
		return b[0] != 0, nil
	case Text:
		if ae {
			if len(b)%2 != 0 {
				return nil, fmt.Errorf("%w: nvarchar value of odd length", ErrValue)
			}
			u := make([]uint16, len(b)/2)
			for i := range u {
				u[i] = binary.LittleEndian.Uint16(b[2*i:])
			}
			return string(utf16.Decode(u)), nil
		}
		if !utf8.Valid(b) {
			return nil, fmt.Errorf("%w: text value is not UTF-8", ErrValue)
		}
		return string(b), nil
	case Bytea:
		return b, nil
	case Timestamptz:
		if err := fixed(8); err != nil {
			return nil, err
		}
		return time.UnixMicro(int64(binary.BigEndian.Uint64(b))).UTC(), nil
	case Date:
		if err := fixed(4); err != nil {
			return nil, err
		}
		return time.Unix(int64(int32(binary.BigEndian.Uint32(b)))*86400, 0).UTC(), nil
	}
	return nil, fmt.Errorf("%w: type %q", ErrSchema, t)
}

func typeErr(t Type, v any) error {
	// The value's type, never the value: it may be the plaintext of an
	// encrypted column.
	return fmt.Errorf("%w: %s column given a %T", ErrValue, t, v)
}
