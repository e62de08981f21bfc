package pgcol

import (
	"fmt"

	"github.com/cofre-cc/cofre/colenc"
)

// cipher seals and opens one column's cells under the values of its CEK.
type cipher struct {
	scheme  Scheme
	current colenc.KeyID
	v2      *colenc.Keyring // cofre-v2
	ae      []aeKey         // Always Encrypted: current first
	index   *colenc.IndexKey
}

type aeKey struct {
	id   colenc.KeyID
	aead *colenc.AEAD
}

func newCipher(c Column, current colenc.KeyID, values []cekValue) (*cipher, error) {
	ci := &cipher{scheme: c.Scheme, current: current}
	var cur *cekValue
	for i := range values {
		if values[i].id == current {
			cur = &values[i]
		}
	}
	if cur == nil {
		return nil, fmt.Errorf("%w: %s's current key %s is not a value of column encryption key %q", ErrSchema, c.Name, current, c.CEK)
	}
	if c.Scheme == SchemeV2 {
		k, err := colenc.NewKey(cur.id, cur.secret)
		if err != nil {
			return nil, err
		}
		var older []*colenc.Key
		for _, v := range values {
			if v.id == current {
				continue
			}
			o, err := colenc.NewKey(v.id, v.secret)
			if err != nil {
				return nil, err
			}
			older = append(older, o)
		}
		if ci.v2, err = colenc.NewKeyring(k, older...); err != nil {
			return nil, err
		}
		return ci, nil
	}
	add := func(v cekValue) error {
		a, err := colenc.NewAEAD(v.secret)
		if err != nil {
			return err
		}
		ci.ae = append(ci.ae, aeKey{id: v.id, aead: a})
		return nil
	}
	if err := add(*cur); err != nil {
		return nil, err
	}
	for _, v := range values {
		if v.id != current {
			if err := add(v); err != nil {
				return nil, err
			}
		}
	}
	return ci, nil
}

func (c *cipher) seal(pt []byte, loc colenc.Location) ([]byte, error) {
	switch c.scheme {
	case SchemeV2:
		return c.v2.Seal(pt, loc)
	case SchemeAEDeterministic:
		return c.ae[0].aead.Encrypt(pt, true)
	default:
		return c.ae[0].aead.Encrypt(pt, false)
	}
}

// open decrypts a cell. Always Encrypted cells name no key, so each value
// is tried, current first; its MAC tells the right one.
func (c *cipher) open(cell []byte, loc colenc.Location) ([]byte, error) {
	if c.scheme == SchemeV2 {
		return c.v2.Open(cell, loc)
	}
	_, pt, err := c.openAE(cell)
	return pt, err
}

// openAE returns the ID of the key that opened an Always Encrypted cell.
func (c *cipher) openAE(cell []byte) (colenc.KeyID, []byte, error) {
	var first error
	for _, k := range c.ae {
		pt, err := k.aead.Decrypt(cell)
		if err == nil {
			return k.id, pt, nil
		}
		if first == nil {
			first = err
		}
	}
	return colenc.KeyID{}, nil, first
}

// keyOf returns the ID of the key a cell is sealed under.
func (c *cipher) keyOf(cell []byte) (colenc.KeyID, error) {
	if c.scheme == SchemeV2 {
		return colenc.CellKeyID(cell)
	}
	id, _, err := c.openAE(cell)
	return id, err
}
