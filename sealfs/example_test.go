package sealfs_test

import (
	"crypto/rand"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/cofre-cc/cofre/sealfs"
)

func Example() {
	dir, _ := os.MkdirTemp("", "sealfs")
	defer os.RemoveAll(dir)
	key := make([]byte, sealfs.KeySize) // in cofre: a volume key from the coordinator
	rand.Read(key)

	v, err := sealfs.OpenVolume(dir, key, sealfs.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	f, err := v.Create("spill/part-0")
	if err == nil {
		log.Fatal("parent directory must exist")
	}
	v.Mkdir("spill", 0o700)
	if f, err = v.Create("spill/part-0"); err != nil {
		log.Fatal(err)
	}
	f.Write([]byte("hello, sealed world"))
	f.Close()
	before, _ := v.RootHash() // report to the coordinator at unmount

	f, _ = v.Open("spill/part-0", os.O_RDONLY)
	b, err := io.ReadAll(f)
	f.Close()
	after, _ := v.RootHash() // compare at the next mount
	fmt.Println(string(b), err, before == after)
	// Output: hello, sealed world <nil> true
}
