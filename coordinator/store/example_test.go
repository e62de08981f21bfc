package store_test

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cofre-cc/cofre/coordinator/store"
)

func Example() {
	dir, _ := os.MkdirTemp("", "store-example")
	defer os.RemoveAll(dir)

	s, err := store.Open(filepath.Join(dir, "state.db"), store.Options{})
	if err != nil {
		panic(err)
	}
	defer s.Close()

	// Each manifest's state has its own key (kept, sealed, in Global).
	key := make([]byte, store.KeySize)
	rand.Read(key)
	if err := s.CreateNamespace(store.Manifest("analytics"), key); err != nil {
		panic(err)
	}
	err = s.Update(func(tx *store.Tx) error {
		return tx.Put(store.Manifest("analytics"), "secrets", "db_password", []byte("s3cret"))
	})
	if err != nil {
		panic(err)
	}
	_ = s.View(func(tx *store.Tx) error {
		v, err := tx.Get(store.Manifest("analytics"), "secrets", "db_password")
		fmt.Println(string(v), err)
		return nil
	})
	// Output: s3cret <nil>
}
