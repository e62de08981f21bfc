package pme

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/parquet"
)

func TestRoundTrip(t *testing.T) {
	sc := testSchema(t)
	cases := []struct {
		name       string
		cfg        Config
		secretSeen bool // plaintext ssn expected in the file bytes
	}{
		{name: "encrypted footer, column keys, double", cfg: Config{FooterKey: "kf", ColumnKeys: "kc1:ssn;kc2:amount"}},
		{name: "plaintext footer, column keys, double", cfg: Config{FooterKey: "kf", ColumnKeys: "kc1:ssn;kc2:amount", PlaintextFooter: true}},
		{name: "encrypted footer, single wrapping", cfg: Config{FooterKey: "kf", ColumnKeys: "kc1:ssn,name", SingleWrapping: true}},
		{name: "plaintext footer, single wrapping", cfg: Config{FooterKey: "kf", ColumnKeys: "kc1:ssn", SingleWrapping: true, PlaintextFooter: true}},
		{name: "uniform key", cfg: Config{UniformKey: "ku"}},
		{name: "uniform key, plaintext footer", cfg: Config{UniformKey: "ku", PlaintextFooter: true}},
		{name: "256-bit DEKs", cfg: Config{FooterKey: "kf", ColumnKeys: "kc1:ssn", DataKeyLength: 256}},
		{name: "192-bit DEKs", cfg: Config{FooterKey: "kf", ColumnKeys: "kc2:ssn", DataKeyLength: 192}},
		{name: "128-bit DEKs explicit", cfg: Config{FooterKey: "kf", ColumnKeys: "kc2:ssn", DataKeyLength: 128}},
		{name: "GCM_CTR", cfg: Config{FooterKey: "kf", ColumnKeys: "kc1:ssn;kc2:id", Algorithm: AlgorithmGCMCTR}},
		{name: "GCM explicit", cfg: Config{FooterKey: "kf", ColumnKeys: "kc1:ssn", Algorithm: AlgorithmGCM}},
		{name: "complete columns", cfg: Config{FooterKey: "kf", ColumnKeys: "kc1:ssn", CompleteColumns: true, Schema: sc}},
		{name: "complete columns, no column keys", cfg: Config{FooterKey: "kf", CompleteColumns: true, Schema: sc}},
		{name: "ssn left in plaintext", cfg: Config{FooterKey: "kf", ColumnKeys: "kc1:amount"}, secretSeen: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kms := newTestKMS(t)
			data := encrypt(t, NewFactory(kms, FactoryOptions{}), tc.cfg)
			if got := bytes.Contains(data, []byte(secretSSN)); got != tc.secretSeen {
				t.Errorf("plaintext ssn values in the file: %v, want %v", got, tc.secretSeen)
			}
			// A fresh factory: nothing cached from writing.
			tbl, err := readFile(data, NewFactory(kms, FactoryOptions{}).DecryptionProperties(context.Background()), nil)
			if err != nil {
				t.Fatal(err)
			}
			checkTable(t, tbl, nil)
		})
	}
}

// TestFooterKeyMaterial checks what lands in the file's footer key_metadata.
func TestFooterKeyMaterial(t *testing.T) {
	for _, double := range []bool{true, false} {
		f := NewFactory(newTestKMS(t), FactoryOptions{})
		props, err := f.EncryptionProperties(context.Background(), Config{FooterKey: "kf", ColumnKeys: "kc1:ssn", SingleWrapping: !double, DataKeyLength: 256})
		if err != nil {
			t.Fatal(err)
		}
		m, err := parseKeyMaterial([]byte(props.FooterKeyMetadata()))
		if err != nil {
			t.Fatal(err)
		}
		if !m.IsFooterKey || m.MasterKeyID != "kf" || m.DoubleWrapping != double || m.KMSInstanceID != "DEFAULT" || m.KMSInstanceURL != "DEFAULT" {
			t.Errorf("footer material %+v", m)
		}
		if len(props.FooterKey()) != 32 {
			t.Errorf("footer DEK %d bytes, want 32", len(props.FooterKey()))
		}
		col := props.ColumnEncryptionProperties("ssn")
		cm, err := parseKeyMaterial([]byte(col.KeyMetadata()))
		if err != nil {
			t.Fatal(err)
		}
		if cm.IsFooterKey || cm.MasterKeyID != "kc1" || cm.DoubleWrapping != double {
			t.Errorf("column material %+v", cm)
		}
		if col.Key() == props.FooterKey() {
			t.Error("column DEK equals footer DEK")
		}
		if props.ColumnEncryptionProperties("name") != nil {
			t.Error("unlisted column is encrypted")
		}
	}
}

func TestFreshDEKsPerCall(t *testing.T) {
	f := NewFactory(newTestKMS(t), FactoryOptions{})
	a, err := f.EncryptionProperties(context.Background(), Config{UniformKey: "ku"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.EncryptionProperties(context.Background(), Config{UniformKey: "ku"})
	if err != nil {
		t.Fatal(err)
	}
	if a.FooterKey() == b.FooterKey() {
		t.Error("two calls returned the same DEK")
	}
}

func TestMissingKeys(t *testing.T) {
	writer := NewFactory(newTestKMS(t), FactoryOptions{})
	for _, plaintextFooter := range []bool{false, true} {
		cfg := Config{FooterKey: "kf", ColumnKeys: "kc1:ssn", PlaintextFooter: plaintextFooter}
		data := encrypt(t, writer, cfg)
		name := map[bool]string{false: "encrypted footer", true: "plaintext footer"}[plaintextFooter]
		t.Run(name+": no column key", func(t *testing.T) {
			dec := NewFactory(newTestKMS(t, "kf"), FactoryOptions{}).DecryptionProperties(context.Background())
			// The columns under the footer key or in plaintext stay readable.
			plain := []int{colID, colName, colAmount}
			tbl, err := readFile(data, dec, plain)
			if err != nil {
				t.Fatal(err)
			}
			checkTable(t, tbl, plain)
			_, err = readFile(data, dec, []int{colSSN})
			if !errors.Is(err, ErrNoKey) || !errors.Is(err, ErrUnknownMasterKey) {
				t.Fatalf("got %v, want ErrNoKey and ErrUnknownMasterKey", err)
			}
		})
		t.Run(name+": no footer key", func(t *testing.T) {
			dec := NewFactory(newTestKMS(t, "kc1"), FactoryOptions{}).DecryptionProperties(context.Background())
			_, err := readFile(data, dec, nil)
			if !errors.Is(err, ErrNoKey) {
				t.Fatalf("got %v, want ErrNoKey", err)
			}
		})
	}
}

func TestWrongMasterKey(t *testing.T) {
	for _, single := range []bool{false, true} {
		data := encrypt(t, NewFactory(newTestKMS(t), FactoryOptions{}), Config{FooterKey: "kf", ColumnKeys: "kc1:ssn", SingleWrapping: single})
		// Same IDs, other bytes.
		wrong, err := NewMemoryKMS(map[string][]byte{"kf": testKeys["kc1"], "kc1": testKeys["kf"]})
		if err != nil {
			t.Fatal(err)
		}
		_, err = readFile(data, NewFactory(wrong, FactoryOptions{}).DecryptionProperties(context.Background()), nil)
		if !errors.Is(err, ErrNoKey) || !errors.Is(err, ErrTampered) {
			t.Errorf("single=%v: got %v, want ErrNoKey from the KMS's failed unwrap", single, err)
		}
	}
}

func TestPlaintextFile(t *testing.T) {
	data := writeFile(t, nil)
	kms := newTestKMS(t)
	_, err := readFile(data, NewFactory(kms, FactoryOptions{}).DecryptionProperties(context.Background()), nil)
	if !errors.Is(err, ErrPlaintext) {
		t.Fatalf("got %v, want ErrPlaintext", err)
	}
	tbl, err := readFile(data, NewFactory(kms, FactoryOptions{AllowPlaintextFiles: true}).DecryptionProperties(context.Background()), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkTable(t, tbl, nil)
	// And an encrypted file without decryption properties.
	_, err = readFile(encrypt(t, NewFactory(kms, FactoryOptions{}), Config{UniformKey: "ku"}), nil, nil)
	if !errors.Is(err, ErrFile) {
		t.Fatalf("got %v, want ErrFile", err)
	}
}

// footerStart returns the offset of the footer (FileCryptoMetaData or
// FileMetaData) and its length.
func footerStart(data []byte) (int, int) {
	n := int(binary.LittleEndian.Uint32(data[len(data)-8:]))
	return len(data) - 8 - n, n
}

func flip(data []byte, off int) []byte {
	out := bytes.Clone(data)
	out[off] ^= 0x01
	return out
}

func TestTamper(t *testing.T) {
	kms := newTestKMS(t)
	w := NewFactory(kms, FactoryOptions{})
	encFooter := encrypt(t, w, Config{FooterKey: "kf", ColumnKeys: "kc1:ssn"})
	plainFooter := encrypt(t, w, Config{FooterKey: "kf", ColumnKeys: "kc1:ssn", PlaintextFooter: true})

	// The ssn column chunk of row group 0, found through the metadata.
	chunk := func(t *testing.T, data []byte) (int, int) {
		rdr, err := OpenFile(bytes.NewReader(data), NewFactory(kms, FactoryOptions{}).DecryptionProperties(context.Background()), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer rdr.Close()
		var start, size int64
		err = RecoverRead(func() error {
			cc, err := rdr.MetaData().RowGroup(0).ColumnChunk(colSSN)
			if err != nil {
				return err
			}
			start, size = cc.DataPageOffset(), cc.TotalCompressedSize()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return int(start), int(size)
	}

	cases := []struct {
		name string
		data func(t *testing.T) []byte
		want error
	}{
		{"page data GCM tag", func(t *testing.T) []byte {
			s, n := chunk(t, encFooter)
			return flip(encFooter, s+n-1)
		}, ErrTampered},
		{"page data middle", func(t *testing.T) []byte {
			s, n := chunk(t, encFooter)
			return flip(encFooter, s+n-40)
		}, ErrTampered},
		{"page header", func(t *testing.T) []byte {
			s, _ := chunk(t, encFooter)
			return flip(encFooter, s+10)
		}, ErrTampered},
		{"encrypted footer tag", func(t *testing.T) []byte {
			return flip(encFooter, len(encFooter)-9)
		}, ErrTampered},
		{"encrypted footer body", func(t *testing.T) []byte {
			s, n := footerStart(encFooter)
			return flip(encFooter, s+n-40)
		}, ErrTampered},
		{"wrapped footer DEK", func(t *testing.T) []byte {
			i := bytes.Index(encFooter, []byte(`"wrappedDEK":"`)) + len(`"wrappedDEK":"`) + 20
			out := bytes.Clone(encFooter)
			out[i] = map[bool]byte{true: 'A', false: 'B'}[out[i] != 'A']
			return out
		}, ErrTampered},
		{"key material JSON", func(t *testing.T) []byte {
			i := bytes.Index(encFooter, []byte(`"keyMaterialType"`))
			return flip(encFooter, i)
		}, ErrKeyMaterial},
		{"plaintext footer", func(t *testing.T) []byte {
			i := bytes.LastIndex(plainFooter, []byte("parquet-go"))
			if i < 0 {
				t.Fatal("created_by not found")
			}
			return flip(plainFooter, i+3)
		}, ErrTampered},
		{"plaintext footer signature", func(t *testing.T) []byte {
			return flip(plainFooter, len(plainFooter)-9)
		}, ErrTampered},
		{"plaintext footer, page data", func(t *testing.T) []byte {
			s, n := chunk(t, plainFooter)
			return flip(plainFooter, s+n-1)
		}, ErrTampered},
		{"truncated by one byte", func(t *testing.T) []byte { return encFooter[:len(encFooter)-1] }, ErrFile},
		{"truncated to half", func(t *testing.T) []byte { return encFooter[:len(encFooter)/2] }, ErrFile},
		{"empty", func(t *testing.T) []byte { return nil }, ErrFile},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.data(t)
			_, err := readFile(data, NewFactory(kms, FactoryOptions{}).DecryptionProperties(context.Background()), nil)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// TestTamperEveryChunkByte flips every byte of an encrypted column chunk:
// each read must fail, never return other data.
func TestTamperEveryChunkByte(t *testing.T) {
	kms := newTestKMS(t)
	data := encrypt(t, NewFactory(kms, FactoryOptions{}), Config{FooterKey: "kf", ColumnKeys: "kc1:ssn"})
	dec := NewFactory(kms, FactoryOptions{}).DecryptionProperties(context.Background())
	rdr, err := OpenFile(bytes.NewReader(data), dec, nil)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := rdr.MetaData().RowGroup(0).ColumnChunk(colSSN)
	if err != nil {
		t.Fatal(err)
	}
	start, size := int(cc.DataPageOffset()), int(cc.TotalCompressedSize())
	for off := start; off < start+size; off++ {
		_, err := readFile(flip(data, off), dec, []int{colSSN})
		if !errors.Is(err, ErrTampered) && !errors.Is(err, ErrFile) {
			t.Fatalf("byte %d of the chunk: got %v, want ErrTampered or ErrFile", off-start, err)
		}
	}
}

// TestNoSupplyAADPrefix reads a file whose AesGcmV1 lacks the optional
// supply_aad_prefix field: arrow-go dereferences the missing field (a nil
// pointer panic); OpenFile must return ErrFile.
func TestNoSupplyAADPrefix(t *testing.T) {
	kms := newTestKMS(t)
	data := encrypt(t, NewFactory(kms, FactoryOptions{}), Config{UniformKey: "ku"})
	s, n := footerStart(data)
	// FileCryptoMetaData in the compact protocol: 0x1C (field 1, struct
	// encryption_algorithm), 0x1C (field 1, AesGcmV1), 0x28 (field 2,
	// binary aad_file_unique) 0x08 + 8 bytes, 0x12 (field 3, bool false:
	// supply_aad_prefix), 0x00 (stop).
	want := []byte{0x1c, 0x1c, 0x28, 0x08}
	if !bytes.Equal(data[s:s+4], want) || data[s+12] != 0x12 || data[s+13] != 0x00 {
		t.Fatalf("unexpected crypto metadata % x", data[s:s+14])
	}
	out := append(bytes.Clone(data[:s+12]), data[s+13:]...) // drop field 3
	binary.LittleEndian.PutUint32(out[len(out)-8:], uint32(n-1))
	_, err := readFile(out, NewFactory(kms, FactoryOptions{}).DecryptionProperties(context.Background()), nil)
	if !errors.Is(err, ErrFile) {
		t.Fatalf("got %v, want ErrFile", err)
	}
}

func TestKEKCache(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	const lifetime = time.Minute
	cfg := Config{FooterKey: "kf", ColumnKeys: "kc1:ssn,name;kc2:amount"} // 3 master keys, 4 DEKs per file

	kms := newCounting(newTestKMS(t))
	w := NewFactory(kms, FactoryOptions{KEKCacheLifetime: lifetime, Now: clock.Now})
	var files [][]byte
	for range 3 {
		files = append(files, encrypt(t, w, cfg))
	}
	if wraps, _ := kms.counts(); wraps != 3 {
		t.Errorf("double wrapping: %d KMS wraps for 3 files, want 3 (one per master key)", wraps)
	}
	clock.Add(lifetime - time.Second)
	encrypt(t, w, cfg)
	if wraps, _ := kms.counts(); wraps != 3 {
		t.Errorf("within the lifetime: %d KMS wraps, want 3", wraps)
	}
	clock.Add(time.Second)
	encrypt(t, w, cfg)
	if wraps, _ := kms.counts(); wraps != 6 {
		t.Errorf("after the lifetime: %d KMS wraps, want 6", wraps)
	}

	// Reading: one KMS unwrap per KEK, whichever properties object and file.
	rkms := newCounting(newTestKMS(t))
	r := NewFactory(rkms, FactoryOptions{KEKCacheLifetime: lifetime, Now: clock.Now})
	for _, data := range files {
		tbl, err := readFile(data, r.DecryptionProperties(context.Background()), nil)
		if err != nil {
			t.Fatal(err)
		}
		checkTable(t, tbl, nil)
	}
	if _, unwraps := rkms.counts(); unwraps != 3 {
		t.Errorf("reading 3 files: %d KMS unwraps, want 3 (one per KEK)", unwraps)
	}
	clock.Add(lifetime)
	tbl, err := readFile(files[0], r.DecryptionProperties(context.Background()), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkTable(t, tbl, nil)
	if _, unwraps := rkms.counts(); unwraps != 6 {
		t.Errorf("after the lifetime: %d KMS unwraps, want 6", unwraps)
	}

	// Single wrapping: every DEK goes to the KMS.
	skms := newCounting(newTestKMS(t))
	s := NewFactory(skms, FactoryOptions{Now: clock.Now})
	single := cfg
	single.SingleWrapping = true
	encrypt(t, s, single)
	encrypt(t, s, single)
	if wraps, _ := skms.counts(); wraps != 8 {
		t.Errorf("single wrapping: %d KMS wraps for 2 files, want 8", wraps)
	}
}

// TestConcurrentReads shares one properties object across goroutines
// (run with -race).
func TestConcurrentReads(t *testing.T) {
	kms := newCounting(newTestKMS(t))
	data := encrypt(t, NewFactory(kms, FactoryOptions{}), Config{FooterKey: "kf", ColumnKeys: "kc1:ssn"})
	_, base := kms.counts()
	dec := NewFactory(kms, FactoryOptions{}).DecryptionProperties(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			tbl, err := readFile(data, dec, nil)
			if err == nil {
				tbl.Release()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, unwraps := kms.counts(); unwraps-base != 2 {
		t.Errorf("%d KMS unwraps for 8 concurrent reads, want 2 (one per KEK)", unwraps-base)
	}
}

func TestKMSFailureIsNotCached(t *testing.T) {
	kms := &flakyKMS{KMSClient: newTestKMS(t), fail: true}
	f := NewFactory(kms, FactoryOptions{})
	if _, err := f.EncryptionProperties(context.Background(), Config{UniformKey: "ku"}); !errors.Is(err, ErrNoKey) || !errors.Is(err, errFlaky) {
		t.Fatalf("got %v, want ErrNoKey wrapping the KMS error", err)
	}
	kms.fail = false
	if _, err := f.EncryptionProperties(context.Background(), Config{UniformKey: "ku"}); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}

var errFlaky = errors.New("kms unavailable")

type flakyKMS struct {
	KMSClient
	fail bool
}

func (k *flakyKMS) WrapKey(ctx context.Context, key []byte, id string) (string, error) {
	if k.fail {
		return "", errFlaky
	}
	return k.KMSClient.WrapKey(ctx, key, id)
}

func TestRecoverRead(t *testing.T) {
	cases := []struct {
		name string
		fn   func() error
		want error
	}{
		{"nil", func() error { return nil }, nil},
		{"string panic", func() error { panic("hidden column exception, path=x") }, ErrFile},
		{"error panic", func() error { panic(ErrNoKey) }, ErrNoKey},
		{"runtime panic", func() error { var p *int; return errors.New(string(rune(*p))) }, ErrFile},
		{"gcm error", func() error { return errors.New("decrypting: cipher: message authentication failed") }, ErrTampered},
		{"other error", func() error { return errors.New("boom") }, ErrFile},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := RecoverRead(tc.fn)
			if tc.want == nil && err != nil || !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDecryptionPropertiesReusable(t *testing.T) {
	kms := newTestKMS(t)
	w := NewFactory(kms, FactoryOptions{})
	dec := NewFactory(kms, FactoryOptions{}).DecryptionProperties(context.Background())
	for range 2 {
		tbl, err := readFile(encrypt(t, w, Config{FooterKey: "kf", ColumnKeys: "kc1:ssn"}), dec, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkTable(t, tbl, nil)
	}
}

var _ parquet.DecryptionKeyRetriever = (*retriever)(nil)
