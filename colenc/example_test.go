package colenc_test

import (
	"bytes"
	"crypto/rand"
	"fmt"

	"github.com/cofre-cc/cofre/colenc"
)

func ExampleKey() {
	var id colenc.KeyID
	rand.Read(id[:])
	secret := make([]byte, colenc.CEKSize)
	rand.Read(secret)
	key, err := colenc.NewKey(id, secret)
	if err != nil {
		panic(err)
	}
	loc := colenc.Location{Table: "results", Column: "salary", RowKey: []byte("42")}
	cell, _ := key.Seal([]byte("250000"), loc)

	pt, err := key.Open(cell, loc)
	fmt.Println(string(pt), err)

	// The same bytes in another row are refused.
	_, err = key.Open(cell, colenc.Location{Table: "results", Column: "salary", RowKey: []byte("43")})
	fmt.Println(err != nil)
	// Output:
	// 250000 <nil>
	// true
}

func ExampleAEAD() {
	cek := bytes.Repeat([]byte{0x01}, colenc.CEKSize) // in practice: UnwrapCEK
	a, err := colenc.NewAEAD(cek)
	if err != nil {
		panic(err)
	}
	c1, _ := a.Encrypt([]byte("alice"), true)
	c2, _ := a.Encrypt([]byte("alice"), true)
	pt, _ := a.Decrypt(c1)
	fmt.Println(bytes.Equal(c1, c2), string(pt))
	// Output: true alice
}

func ExampleBlindIndex() {
	secret := make([]byte, colenc.IndexKeySize)
	rand.Read(secret)
	ik, _ := colenc.NewIndexKey(secret)
	stored := colenc.BlindIndex(ik, "email", []byte("a@example.org"))
	query := colenc.BlindIndex(ik, "email", []byte("a@example.org"))
	fmt.Println(bytes.Equal(stored, query))
	// Output: true
}
