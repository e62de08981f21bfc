package colenc

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
)

// v2 cell layout (cofre's default scheme):
//
//	version 0x02 (1) ‖ key ID (16) ‖ nonce (12) ‖ AES-256-GCM ciphertext ‖ tag (16)
//
// associated data = "cofre/colenc/v2" ‖ version ‖ key ID ‖
// u32be(len table) ‖ table ‖ u32be(len column) ‖ column ‖ u32be(len rowKey) ‖ rowKey
//
// The associated data is what Always Encrypted lacks: a cell copied to another
// row, column or table, or relabelled with another key ID, fails its tag.
// Length prefixes keep ("ab","c") and ("a","bc") distinct. The header is
// authenticated too, so flipping the version or key ID is caught.
const (
	v2Version    = 0x02
	v2KeyIDSize  = 16
	v2NonceSize  = 12
	v2TagSize    = 16
	v2HeaderSize = 1 + v2KeyIDSize // nonce is part of the GCM output
	v2MinCell    = v2HeaderSize + v2NonceSize + v2TagSize
	v2ADLabel    = "cofre/colenc/v2"

	// IndexKeySize is the length of a blind-index key.
	IndexKeySize = 32
)

// KeyID names a v2 column key. It is stored in clear in every cell so that a
// reader picks the right key while a column is being re-encrypted. It must be
// unique per key (random, or a KMS identifier hash); it is not secret.
type KeyID [v2KeyIDSize]byte

// String returns the key ID as "colkey:" followed by 32 hex digits.
func (id KeyID) String() string { return "colkey:" + hex.EncodeToString(id[:]) }

// Location says where a cell lives. All three fields enter the associated
// data, so a cell opens only at the Location it was sealed for. RowKey should
// be the row's immutable primary key in a canonical byte encoding.
type Location struct {
	Table  string
	Column string
	RowKey []byte
}

// Key is a v2 column key: AES-256-GCM with random 96-bit nonces. It is safe
// for concurrent use.
//
// Random nonces bound one key to 2^32 cells (NIST SP 800-38D §8.3); rotate the
// column to a new Key well before that.
type Key struct {
	id   KeyID
	aead cipher.AEAD // from cipher.NewGCMWithRandomNonce
}

// NewKey returns the v2 key with the given ID and 32-byte secret. secret is
// not retained.
func NewKey(id KeyID, secret []byte) (*Key, error) {
	if len(secret) != CEKSize {
		return nil, fmt.Errorf("colenc: v2 key %s: want %d bytes, got %d: %w", id, CEKSize, len(secret), ErrKey)
	}
	block, err := aes.NewCipher(secret)
	if err != nil {
		return nil, fmt.Errorf("colenc: v2 key %s: %w", id, err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("colenc: v2 key %s: %w", id, err)
	}
	return &Key{id: id, aead: aead}, nil
}

// ID returns the key's ID.
func (k *Key) ID() KeyID { return k.id }

// Seal encrypts plaintext for the cell at loc.
func (k *Key) Seal(plaintext []byte, loc Location) ([]byte, error) {
	if len(plaintext) > MaxPlaintextSize {
		return nil, fmt.Errorf("colenc: v2 seal: plaintext of %d bytes exceeds %d: %w", len(plaintext), MaxPlaintextSize, ErrFormat)
	}
	ad, err := v2AssociatedData(k.id, loc)
	if err != nil {
		return nil, err
	}
	cell := make([]byte, v2HeaderSize, v2HeaderSize+v2NonceSize+len(plaintext)+v2TagSize)
	cell[0] = v2Version
	copy(cell[1:], k.id[:])
	return k.aead.Seal(cell, nil, plaintext, ad), nil
}

// Open decrypts a cell sealed by this key for loc. A cell naming another key
// ID is refused with ErrUnknownKey; a tampered or moved cell with
// ErrAuthentication.
func (k *Key) Open(cell []byte, loc Location) ([]byte, error) {
	id, err := CellKeyID(cell)
	if err != nil {
		return nil, err
	}
	if id != k.id {
		return nil, fmt.Errorf("colenc: v2 open: cell key %s, have %s: %w", id, k.id, ErrUnknownKey)
	}
	return k.open(cell, loc)
}

func (k *Key) open(cell []byte, loc Location) ([]byte, error) {
	ad, err := v2AssociatedData(k.id, loc)
	if err != nil {
		return nil, err
	}
	pt, err := k.aead.Open(nil, nil, cell[v2HeaderSize:], ad)
	if err != nil {
		return nil, fmt.Errorf("colenc: v2 open: key %s, table %q, column %q: %w", k.id, loc.Table, loc.Column, ErrAuthentication)
	}
	return pt, nil
}

// CellKeyID parses a v2 cell's header and returns the key ID it names, without
// authenticating anything: use it to pick a key, never as proof of origin.
func CellKeyID(cell []byte) (KeyID, error) {
	if len(cell) == 0 {
		return KeyID{}, fmt.Errorf("colenc: v2 cell: empty: %w", ErrFormat)
	}
	if cell[0] != v2Version {
		return KeyID{}, fmt.Errorf("colenc: v2 cell: version: want 0x%02x, got 0x%02x: %w", v2Version, cell[0], ErrVersion)
	}
	if len(cell) < v2MinCell {
		return KeyID{}, fmt.Errorf("colenc: v2 cell: length %d below minimum %d: %w", len(cell), v2MinCell, ErrFormat)
	}
	if len(cell) > v2MinCell+MaxPlaintextSize {
		return KeyID{}, fmt.Errorf("colenc: v2 cell: length %d exceeds limit: %w", len(cell), ErrFormat)
	}
	return KeyID(cell[1:v2HeaderSize]), nil
}

func v2AssociatedData(id KeyID, loc Location) ([]byte, error) {
	fields := [...]struct {
		name string
		val  []byte
	}{{"table", []byte(loc.Table)}, {"column", []byte(loc.Column)}, {"row key", loc.RowKey}}
	n := len(v2ADLabel) + 1 + v2KeyIDSize
	for _, f := range fields {
		if len(f.val) > MaxLocationFieldSize {
			return nil, fmt.Errorf("colenc: v2 location: %s of %d bytes exceeds %d: %w", f.name, len(f.val), MaxLocationFieldSize, ErrFormat)
		}
		n += 4 + len(f.val)
	}
	ad := make([]byte, 0, n)
	ad = append(ad, v2ADLabel...)
	ad = append(ad, v2Version)
	ad = append(ad, id[:]...)
	for _, f := range fields {
		ad = binary.BigEndian.AppendUint32(ad, uint32(len(f.val)))
		ad = append(ad, f.val...)
	}
	return ad, nil
}

// Keyring opens v2 cells under any of several keys and seals under one
// current key. It is how a column rotates online: readers hold the old and
// new keys while a rewriter re-seals rows from old to new. A Keyring is
// immutable after NewKeyring and safe for concurrent use.
type Keyring struct {
	current *Key
	byID    map[KeyID]*Key
}

// NewKeyring returns a keyring that seals with current and opens cells under
// current or any of older. Duplicate IDs are refused.
func NewKeyring(current *Key, older ...*Key) (*Keyring, error) {
	if current == nil {
		return nil, fmt.Errorf("colenc: keyring: nil current key: %w", ErrKey)
	}
	r := &Keyring{current: current, byID: map[KeyID]*Key{current.id: current}}
	for _, k := range older {
		if k == nil {
			return nil, fmt.Errorf("colenc: keyring: nil key: %w", ErrKey)
		}
		if _, dup := r.byID[k.id]; dup {
			return nil, fmt.Errorf("colenc: keyring: duplicate key %s: %w", k.id, ErrKey)
		}
		r.byID[k.id] = k
	}
	return r, nil
}

// Current returns the ID of the key Seal uses.
func (r *Keyring) Current() KeyID { return r.current.id }

// Seal encrypts under the current key.
func (r *Keyring) Seal(plaintext []byte, loc Location) ([]byte, error) {
	return r.current.Seal(plaintext, loc)
}

// Open decrypts a cell under whichever held key its header names.
func (r *Keyring) Open(cell []byte, loc Location) ([]byte, error) {
	id, err := CellKeyID(cell)
	if err != nil {
		return nil, err
	}
	k, ok := r.byID[id]
	if !ok {
		return nil, fmt.Errorf("colenc: keyring open: cell key %s: %w", id, ErrUnknownKey)
	}
	return k.open(cell, loc)
}

// IndexKey keys blind indexes. It must be a different secret from every
// cell key: the index is stored next to the ciphertext, and one secret for
// both roles would tie the two constructions together.
type IndexKey struct {
	key [IndexKeySize]byte
}

// NewIndexKey returns a blind-index key from 32 secret bytes, which it copies.
func NewIndexKey(secret []byte) (*IndexKey, error) {
	if len(secret) != IndexKeySize {
		return nil, fmt.Errorf("colenc: index key: want %d bytes, got %d: %w", IndexKeySize, len(secret), ErrKey)
	}
	k := new(IndexKey)
	copy(k.key[:], secret)
	return k, nil
}

// BlindIndex returns HMAC-SHA256(key, "cofre/colenc/bidx/v1" ‖ u32be(len
// column) ‖ column ‖ value), 32 bytes. Store it in a separate indexed column
// and search with WHERE idx = BlindIndex(key, column, wanted).
//
// The column name is bound in, so equal values in different columns get
// different indexes. Equal values in one column get equal indexes: that is
// the point, and it leaks equality (and, for low-entropy columns, lets a
// key-less attacker count frequencies) exactly like deterministic encryption,
// but without weakening the cell ciphertext itself.
func BlindIndex(key *IndexKey, column string, value []byte) []byte {
	const label = "cofre/colenc/bidx/v1"
	h := hmac.New(sha256.New, key.key[:])
	h.Write([]byte(label))
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(column))))
	h.Write([]byte(column))
	h.Write(value)
	return h.Sum(nil)
}
