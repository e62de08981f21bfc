// Package shamir implements Shamir's k-of-n secret sharing over GF(2^8),
// the AES field (reduction polynomial x^8+x^4+x^3+x+1), byte by byte.
//
// Split turns a secret into n shares of which any k recover it with
// Combine; fewer than k reveal nothing about it (each byte of the secret is
// the constant term of its own random polynomial of degree k-1).
//
// A share is the secret's length of y values followed by one byte, the x
// coordinate (1..255, distinct, never 0: the polynomial's value at 0 is the
// secret itself).
//
// What this package does NOT do: it does not authenticate shares. Combine
// of a wrong, corrupted or malicious share silently yields a wrong secret;
// callers commit to each share and check the result (coordinator/seal's
// recovery records do both). It does not encrypt shares to their holders.
package shamir

import (
	"crypto/rand"
	"errors"
	"fmt"
)

// Errors returned by Split and Combine. Each is wrapped with detail; test
// with errors.Is.
var (
	// ErrParameters: n, k or the secret's length is out of range for Split.
	ErrParameters = errors.New("shamir: invalid parameters")
	// ErrTooFewShares: Combine was given fewer than two shares.
	ErrTooFewShares = errors.New("shamir: too few shares")
	// ErrShareLength: a share is too short or its length differs from the
	// others'.
	ErrShareLength = errors.New("shamir: share length")
	// ErrZeroX: a share has x coordinate 0, which would be the secret
	// itself and which Split never produces.
	ErrZeroX = errors.New("shamir: share has x coordinate 0")
	// ErrDuplicateX: two shares have the same x coordinate. Interpolation
	// would divide by zero; two copies of one share are not two shares.
	ErrDuplicateX = errors.New("shamir: duplicate share")
)

// Split divides secret into n shares, any k of which recover it.
// It requires 2 <= k <= n <= MaxShares and 1 <= len(secret) <= MaxSecretLen.
// Share i (0-based) has x coordinate i+1. Split does not modify secret.
func Split(secret []byte, n, k int) ([][]byte, error) {
	switch {
	case len(secret) == 0 || len(secret) > MaxSecretLen:
		return nil, fmt.Errorf("%w: secret length %d, want 1..%d", ErrParameters, len(secret), MaxSecretLen)
	case k < 2:
		// k = 1 would make every share a copy of the secret.
		return nil, fmt.Errorf("%w: threshold %d, want at least 2", ErrParameters, k)
	case n < k || n > MaxShares:
		return nil, fmt.Errorf("%w: %d shares with threshold %d, want threshold <= shares <= %d", ErrParameters, n, k, MaxShares)
	}

	shares := make([][]byte, n)
	for i := range shares {
		shares[i] = make([]byte, len(secret)+1)
		shares[i][len(secret)] = byte(i + 1)
	}

	// coeffs[0] is the secret byte; coeffs[1..k-1] are uniformly random,
	// zero included: a uniform polynomial of degree at most k-1 is what
	// makes any k-1 points independent of coeffs[0]. Forcing the top
	// coefficient nonzero would bias it and buy nothing.
	coeffs := make([]byte, k)
	defer clear(coeffs)
	for b, s := range secret {
		coeffs[0] = s
		rand.Read(coeffs[1:]) // crypto/rand.Read never fails (Go 1.24+)
		for _, sh := range shares {
			sh[b] = evaluate(coeffs, sh[len(secret)])
		}
	}
	return shares, nil
}

// Combine recovers the secret from at least the threshold number of shares
// produced by one Split. Given fewer than the threshold (but at least two),
// or shares of different splits, it returns a wrong secret without error:
// the shares carry no threshold and no authentication. Combine does not
// modify shares.
func Combine(shares [][]byte) ([]byte, error) {
	if len(shares) < 2 {
		return nil, fmt.Errorf("%w: %d, want at least 2", ErrTooFewShares, len(shares))
	}
	if len(shares) > MaxShares {
		// With more than 255 shares at least two repeat an x; refuse early
		// and bound the quadratic work below.
		return nil, fmt.Errorf("%w: %d shares, at most %d have distinct x", ErrDuplicateX, len(shares), MaxShares)
	}
	size := len(shares[0])
	if size < 2 || size > MaxSecretLen+1 {
		return nil, fmt.Errorf("%w: %d bytes, want 2..%d", ErrShareLength, size, MaxSecretLen+1)
	}
	var seen [256]bool
	xs := make([]byte, len(shares))
	for i, sh := range shares {
		if len(sh) != size {
			return nil, fmt.Errorf("%w: share %d has %d bytes, share 0 has %d", ErrShareLength, i, len(sh), size)
		}
		x := sh[size-1]
		if x == 0 {
			return nil, fmt.Errorf("%w (share %d)", ErrZeroX, i)
		}
		if seen[x] {
			return nil, fmt.Errorf("%w: x coordinate %d appears twice", ErrDuplicateX, x)
		}
		seen[x] = true
		xs[i] = x
	}

	// Lagrange interpolation at 0: secret = sum_i y_i * l_i(0) with
	// l_i(0) = prod_{j != i} x_j / (x_j - x_i); in GF(2^8) subtraction is
	// XOR. The basis values depend only on the public x coordinates.
	basis := make([]byte, len(xs))
	for i, xi := range xs {
		num, den := byte(1), byte(1)
		for j, xj := range xs {
			if i == j {
				continue
			}
			num = mul(num, xj)
			den = mul(den, xj^xi)
		}
		basis[i] = mul(num, inverse(den))
	}

	secret := make([]byte, size-1)
	for b := range secret {
		var acc byte
		for i, sh := range shares {
			acc ^= mul(sh[b], basis[i])
		}
		secret[b] = acc
	}
	return secret, nil
}

// evaluate returns the polynomial with coefficients coeffs (constant term
// first) at x, by Horner's rule.
func evaluate(coeffs []byte, x byte) byte {
	var y byte
	for i := len(coeffs) - 1; i >= 0; i-- {
		y = mul(y, x) ^ coeffs[i]
	}
	return y
}

// mul multiplies a and b in GF(2^8) modulo x^8+x^4+x^3+x+1 in constant
// time. The usual log/exp tables would index memory by secret bytes (the
// coefficients and the shares' y values are secret), and which cache line a
// lookup touches can be observed by a co-resident attacker — exactly the
// host a TEE defends against. So: shift-and-add over all eight bits of b,
// with masks instead of branches.
func mul(a, b byte) byte {
	var p byte
	for range 8 {
		// Add a when b's low bit is set: mask is 0xff or 0x00.
		p ^= a & -(b & 1)
		// a *= x, reducing by 0x1b when the bit shifted out was set.
		a = a<<1 ^ 0x1b&-(a>>7)
		b >>= 1
	}
	return p
}

// inverse returns a^-1 = a^254 (the multiplicative group has order 255),
// by a fixed sequence of squarings and multiplications, so its timing does
// not depend on a. inverse(0) is 0; Combine never asks for it because the
// x coordinates are distinct.
func inverse(a byte) byte {
	// 254 = 0b11111110: a^2, a^4, ..., a^128 multiplied together.
	sq := mul(a, a) // a^2
	r := sq
	for range 6 {
		sq = mul(sq, sq) // a^4 ... a^128
		r = mul(r, sq)
	}
	return r
}
