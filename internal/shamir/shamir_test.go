package shamir

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
)

// TestMulKnownAnswers checks field multiplication against FIPS-197
// section 4.2 and well-known AES inverse pairs.
func TestMulKnownAnswers(t *testing.T) {
	tests := []struct{ a, b, want byte }{
		{0x57, 0x83, 0xc1}, // FIPS-197 4.2
		{0x57, 0x13, 0xfe}, // FIPS-197 4.2.1
		{0x57, 0x02, 0xae}, // xtime(57)
		{0x80, 0x02, 0x1b}, // x^8 = x^4+x^3+x+1
		{0x53, 0xca, 0x01}, // FIPS-197 5.1.1: inverses
		{0x00, 0xff, 0x00},
		{0x01, 0xab, 0xab},
	}
	for _, tt := range tests {
		if got := mul(tt.a, tt.b); got != tt.want {
			t.Errorf("mul(%#x, %#x) = %#x, want %#x", tt.a, tt.b, got, tt.want)
		}
		if got := mul(tt.b, tt.a); got != tt.want {
			t.Errorf("mul(%#x, %#x) = %#x, want %#x", tt.b, tt.a, got, tt.want)
		}
	}
}

// TestMulAgainstReference compares mul with a branchy textbook version
// for all 65536 pairs, and checks inverse for every nonzero byte.
func TestMulAgainstReference(t *testing.T) {
	ref := func(a, b byte) byte {
		var p byte
		for b != 0 {
			if b&1 != 0 {
				p ^= a
			}
			hi := a & 0x80
			a <<= 1
			if hi != 0 {
				a ^= 0x1b
			}
			b >>= 1
		}
		return p
	}
	for a := range 256 {
		for b := range 256 {
			if got, want := mul(byte(a), byte(b)), ref(byte(a), byte(b)); got != want {
				t.Fatalf("mul(%#x, %#x) = %#x, want %#x", a, b, got, want)
			}
		}
		if a != 0 {
			if p := mul(byte(a), inverse(byte(a))); p != 1 {
				t.Fatalf("%#x * inverse(%#x) = %#x, want 1", a, a, p)
			}
		}
	}
	if inverse(0) != 0 {
		t.Errorf("inverse(0) = %#x, want 0", inverse(0))
	}
}

// TestCombineKnownAnswers uses shares computed by hand.
//
// f(x) = 0x42 + 0x01x: f(1) = 0x43, f(2) = 0x40, f(3) = 0x41. From x = 1, 2:
// secret = (f(1)*2 ^ f(2)*1) / (1^2) = (0x86 ^ 0x40)/3 = 0xc6/3 = 0x42,
// since 0x42*3 = 0x84 ^ 0x42 = 0xc6.
//
// g(x) = 0x07 + 0x03x + 0x02x^2: g(1) = 07^03^02 = 0x06,
// g(2) = 07^06^08 = 0x09, g(3) = 07^05^0a = 0x08.
//
// h(x) = 0x03 + 0x05x: h(1) = 0x06, h(2) = 03^0a = 0x09, so the points
// (1, 0x06), (2, 0x09) give (0x0c ^ 0x09)/3 = 0x05/3 = 0x03.
func TestCombineKnownAnswers(t *testing.T) {
	tests := []struct {
		name   string
		shares [][]byte
		want   []byte
	}{
		{"f from x=1,2", [][]byte{{0x43, 1}, {0x40, 2}}, []byte{0x42}},
		{"f from x=2,3", [][]byte{{0x40, 2}, {0x41, 3}}, []byte{0x42}},
		{"f from x=3,1", [][]byte{{0x41, 3}, {0x43, 1}}, []byte{0x42}},
		{"f from all three", [][]byte{{0x43, 1}, {0x40, 2}, {0x41, 3}}, []byte{0x42}},
		{"g from x=1,2,3", [][]byte{{0x06, 1}, {0x09, 2}, {0x08, 3}}, []byte{0x07}},
		{"g below threshold", [][]byte{{0x06, 1}, {0x09, 2}}, []byte{0x03}}, // that is h
		{"f and h side by side", [][]byte{{0x43, 0x06, 1}, {0x40, 0x09, 2}}, []byte{0x42, 0x03}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Combine(tt.shares)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("Combine = %x, want %x", got, tt.want)
			}
		})
	}
}

func TestEvaluateKnownAnswers(t *testing.T) {
	tests := []struct {
		coeffs []byte
		x      byte
		want   byte
	}{
		{[]byte{0x42, 0x01}, 1, 0x43},
		{[]byte{0x42, 0x01}, 2, 0x40},
		{[]byte{0x42, 0x01}, 3, 0x41},
		{[]byte{0x07, 0x03, 0x02}, 1, 0x06},
		{[]byte{0x07, 0x03, 0x02}, 2, 0x09},
		{[]byte{0x07, 0x03, 0x02}, 3, 0x08},
		{[]byte{0x03, 0x05}, 1, 0x06},
		{[]byte{0x03, 0x05}, 2, 0x09},
	}
	for _, tt := range tests {
		if got := evaluate(tt.coeffs, tt.x); got != tt.want {
			t.Errorf("evaluate(%x, %d) = %#x, want %#x", tt.coeffs, tt.x, got, tt.want)
		}
	}
}

// subsets calls f with every k-element subset of 0..n-1.
func subsets(n, k int, f func([]int)) {
	var rec func(start int, cur []int)
	rec = func(start int, cur []int) {
		if len(cur) == k {
			f(cur)
			return
		}
		for i := start; i < n; i++ {
			rec(i+1, append(cur, i))
		}
	}
	rec(0, nil)
}

func TestSplitCombineSubsets(t *testing.T) {
	tests := []struct{ n, k, size int }{
		{5, 3, 32},
		{3, 2, 1},
		{2, 2, 16},
		{5, 5, 32},
		{7, 4, 64},
		{255, 2, 4},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d-of-%d", tt.k, tt.n), func(t *testing.T) {
			secret := make([]byte, tt.size)
			rand.Read(secret)
			orig := bytes.Clone(secret)
			shares, err := Split(secret, tt.n, tt.k)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(secret, orig) {
				t.Fatal("Split modified the secret")
			}
			if len(shares) != tt.n {
				t.Fatalf("got %d shares, want %d", len(shares), tt.n)
			}
			for i, sh := range shares {
				if len(sh) != tt.size+1 || sh[tt.size] != byte(i+1) {
					t.Fatalf("share %d: length %d x %d", i, len(sh), sh[len(sh)-1])
				}
			}
			if tt.n > 10 {
				// Too many subsets; check a few sliding pairs instead.
				for i := 0; i+1 < tt.n; i += 17 {
					got, err := Combine([][]byte{shares[i], shares[i+1]})
					if err != nil || !bytes.Equal(got, secret) {
						t.Fatalf("pair %d: %x, %v", i, got, err)
					}
				}
				return
			}
			for size := tt.k; size <= tt.n; size++ {
				subsets(tt.n, size, func(idx []int) {
					pick := make([][]byte, len(idx))
					for i, j := range idx {
						pick[i] = shares[j]
					}
					got, err := Combine(pick)
					if err != nil {
						t.Fatalf("subset %v: %v", idx, err)
					}
					if !bytes.Equal(got, secret) {
						t.Fatalf("subset %v: wrong secret", idx)
					}
				})
			}
			if tt.k > 2 && tt.size >= 16 {
				// k-1 shares interpolate a different polynomial: a wrong
				// secret (equal with probability 2^-8 per byte).
				subsets(tt.n, tt.k-1, func(idx []int) {
					pick := make([][]byte, len(idx))
					for i, j := range idx {
						pick[i] = shares[j]
					}
					got, err := Combine(pick)
					if err != nil {
						t.Fatalf("subset %v: %v", idx, err)
					}
					if bytes.Equal(got, secret) {
						t.Fatalf("subset %v of %d shares recovered the secret below threshold %d", idx, len(idx), tt.k)
					}
				})
			}
		})
	}
}

// TestSplitRandomized checks that two splits of one secret differ: the
// coefficients are fresh randomness each time.
func TestSplitRandomized(t *testing.T) {
	secret := bytes.Repeat([]byte{0xaa}, 32)
	a, err := Split(secret, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Split(secret, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a[0], b[0]) {
		t.Error("two splits produced the same first share")
	}
	for _, sh := range a {
		if bytes.Equal(sh[:32], secret) {
			t.Error("a share equals the secret")
		}
	}
}

func TestSplitErrors(t *testing.T) {
	tests := []struct {
		name   string
		secret []byte
		n, k   int
	}{
		{"empty secret", nil, 3, 2},
		{"secret too long", make([]byte, MaxSecretLen+1), 3, 2},
		{"threshold 1", []byte{1}, 3, 1},
		{"threshold 0", []byte{1}, 3, 0},
		{"threshold above n", []byte{1}, 3, 4},
		{"too many shares", []byte{1}, 256, 2},
		{"negative", []byte{1}, -1, -2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Split(tt.secret, tt.n, tt.k)
			if !errors.Is(err, ErrParameters) {
				t.Fatalf("err = %v, want ErrParameters", err)
			}
		})
	}
}

func TestCombineErrors(t *testing.T) {
	shares, err := Split([]byte("0123456789abcdef"), 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	zero := bytes.Clone(shares[1])
	zero[len(zero)-1] = 0
	many := make([][]byte, 256)
	for i := range many {
		many[i] = []byte{1, byte(i)}
	}
	tests := []struct {
		name   string
		shares [][]byte
		want   error
	}{
		{"none", nil, ErrTooFewShares},
		{"one", shares[:1], ErrTooFewShares},
		{"duplicate", [][]byte{shares[0], shares[0]}, ErrDuplicateX},
		{"duplicate copy", [][]byte{shares[2], shares[0], bytes.Clone(shares[2])}, ErrDuplicateX},
		{"length mismatch", [][]byte{shares[0], shares[1][1:]}, ErrShareLength},
		{"too short", [][]byte{{1}, {2}}, ErrShareLength},
		{"empty", [][]byte{{}, {}}, ErrShareLength},
		{"too long", [][]byte{make([]byte, MaxSecretLen+2), make([]byte, MaxSecretLen+2)}, ErrShareLength},
		{"x zero", [][]byte{shares[0], zero}, ErrZeroX},
		{"more than 255", many, ErrDuplicateX},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Combine(tt.shares)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzCombine(f *testing.F) {
	f.Add([]byte{0x43, 1, 0x40, 2}, 2)
	f.Add([]byte{0x06, 1, 0x09, 2, 0x08, 3}, 2)
	f.Add([]byte{1, 0, 2, 0}, 2)
	f.Add([]byte{}, 1)
	f.Fuzz(func(t *testing.T, data []byte, size int) {
		// Cut data into shares of size bytes each.
		if size <= 0 || size > len(data)+1 {
			size = 2
		}
		var shares [][]byte
		for len(data) >= size && len(shares) < 300 {
			shares = append(shares, data[:size])
			data = data[size:]
		}
		if len(data) > 0 {
			shares = append(shares, data) // a short last share
		}
		secret, err := Combine(shares)
		if err == nil && len(secret) != size-1 {
			t.Fatalf("secret of %d bytes from shares of %d", len(secret), size)
		}
	})
}

func ExampleSplit() {
	secret := []byte("a 32-byte data key, for example.")
	shares, err := Split(secret, 5, 3) // five holders, any three recover
	if err != nil {
		panic(err)
	}
	got, err := Combine([][]byte{shares[4], shares[0], shares[2]})
	if err != nil {
		panic(err)
	}
	fmt.Println(string(got))
	// Output: a 32-byte data key, for example.
}
