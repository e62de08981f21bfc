package secrets_test

import (
	"fmt"
	"time"

	"github.com/cofre-cc/cofre/coordinator/secrets"
	"github.com/cofre-cc/cofre/manifest"
)

func Example() {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	decl := manifest.Secret{Kind: manifest.KindASCII, Size: 24, Alphabet: "abcdefghjkmnpqrstuvwxyz23456789"}
	v, err := secrets.Generate("db_password", decl, nil, nil, now)
	if err != nil {
		panic(err)
	}
	// Stored sealed: data, _ := v.Marshal(); … secrets.UnmarshalValue(data)
	password, err := v.Part("raw")
	if err != nil {
		panic(err)
	}
	defer clear(password)
	fmt.Println(len(password))

	_, err = (&secrets.Value{Kind: manifest.KindParquetMasterKey, Bytes: make([]byte, 32)}).Part("hex")
	fmt.Println(err)
	// Output:
	// 24
	// secrets: part "hex" of a parquet-master-key secret: secret not releasable
}
