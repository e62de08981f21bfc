package pgcol

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cofre-cc/cofre/colenc"
	"github.com/cofre-cc/cofre/coordinator/client"
)

// KMS wraps column encryption keys (CEKs) under named column master keys
// (CMKs). In production it is the coordinator's KMS ([CoordinatorKMS]):
// CMKs are manifest secrets that never leave it, and only an attested
// workload whose service is granted a CMK can unwrap a CEK under it.
type KMS interface {
	Wrap(ctx context.Context, cmk string, cek []byte) (wrapped []byte, err error)
	Unwrap(ctx context.Context, cmk string, wrapped []byte) (cek []byte, err error)
}

// CoordinatorKMS is the coordinator's KMS over the workload's mutual TLS.
type CoordinatorKMS struct {
	C *client.Client
}

// Wrap implements KMS.
func (k *CoordinatorKMS) Wrap(ctx context.Context, cmk string, cek []byte) ([]byte, error) {
	resp, err := k.C.Wrap(ctx, cmk, cek)
	if err != nil {
		return nil, fmt.Errorf("pgcol: kms wrap under %q: %w", cmk, err)
	}
	if resp.Wrapped == "" {
		return nil, fmt.Errorf("pgcol: kms wrap under %q: empty answer", cmk)
	}
	return []byte(resp.Wrapped), nil
}

// Unwrap implements KMS.
func (k *CoordinatorKMS) Unwrap(ctx context.Context, cmk string, wrapped []byte) ([]byte, error) {
	resp, err := k.C.Unwrap(ctx, cmk, string(wrapped))
	if err != nil {
		return nil, fmt.Errorf("pgcol: kms unwrap under %q: %w", cmk, err)
	}
	return resp.Plaintext, nil
}

// ProviderKMS names the coordinator's KMS in cofre_column_master_keys.
const ProviderKMS = "COFRE_KMS"

// metadataDDL creates the key metadata, the like of SQL Server's
// sys.column_master_keys, sys.column_encryption_keys (+ _values) and the
// encryption properties of sys.columns. No plaintext key is ever stored:
// a CEK is stored wrapped by the KMS, with a MAC under the CEK itself over
// its name, key ID and CMK, so that a DBA who swaps wrapped values between
// keys, or relabels one, is caught when the key is loaded (SQL Server signs
// CMK metadata for the same reason; here the CMK never leaves the KMS, and
// the KMS binds each wrapped key to its CMK's name).
var metadataDDL = []string{
	`CREATE TABLE IF NOT EXISTS cofre_column_master_keys (
		name text PRIMARY KEY,
		provider text NOT NULL,
		key_path text NOT NULL,
		created timestamptz NOT NULL DEFAULT now())`,
	`CREATE TABLE IF NOT EXISTS cofre_column_encryption_keys (
		name text NOT NULL,
		key_id text NOT NULL,
		cmk text NOT NULL REFERENCES cofre_column_master_keys (name),
		encrypted_value bytea NOT NULL,
		mac bytea NOT NULL,
		created timestamptz NOT NULL DEFAULT now(),
		PRIMARY KEY (name, key_id))`,
	`CREATE TABLE IF NOT EXISTS cofre_encrypted_columns (
		table_name text NOT NULL,
		column_name text NOT NULL,
		data_type text NOT NULL,
		scheme text NOT NULL,
		cek text NOT NULL,
		key_id text NOT NULL,
		index_cek text,
		PRIMARY KEY (table_name, column_name))`,
}

// Init creates the key metadata tables if they do not exist.
func Init(ctx context.Context, db *pgxpool.Pool) error {
	for _, ddl := range metadataDDL {
		if _, err := db.Exec(ctx, ddl); err != nil {
			return fmt.Errorf("pgcol: metadata: %w", err)
		}
	}
	return nil
}

// CreateCMK records a column master key: the KMS master key of that name.
// It is idempotent. The database never names another key path: readers
// unwrap under the CMK's own name and refuse a record that says otherwise,
// so a DBA cannot redirect wrapping to another master key the workload
// happens to hold.
func CreateCMK(ctx context.Context, db *pgxpool.Pool, name string) error {
	if err := checkKeyName(name); err != nil {
		return err
	}
	if _, err := db.Exec(ctx, `INSERT INTO cofre_column_master_keys (name, provider, key_path) VALUES ($1, $2, $1)
		ON CONFLICT (name) DO NOTHING`, name, ProviderKMS); err != nil {
		return fmt.Errorf("pgcol: create cmk %q: %w", name, err)
	}
	return nil
}

// NewCEK generates a column encryption key, wraps it under the CMK and
// records it as a new value of the CEK name (a CEK name holds several
// values during a rotation). It returns the new key's ID.
func NewCEK(ctx context.Context, db *pgxpool.Pool, kms KMS, name, cmk string) (colenc.KeyID, error) {
	var id colenc.KeyID
	if err := checkKeyName(name); err != nil {
		return id, err
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM cofre_column_master_keys WHERE name = $1`, cmk).Scan(&n); err != nil {
		return id, fmt.Errorf("pgcol: new cek: %w", err)
	}
	if n == 0 {
		return id, fmt.Errorf("%w: no column master key %q", ErrSchema, cmk)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	defer clear(secret)
	rand.Read(id[:])
	wrapped, err := kms.Wrap(ctx, cmk, secret)
	if err != nil {
		return id, err
	}
	created := time.Now().UTC().Truncate(time.Microsecond)
	mac := cekMAC(secret, name, id, cmk, created)
	if _, err := db.Exec(ctx, `INSERT INTO cofre_column_encryption_keys (name, key_id, cmk, encrypted_value, mac, created) VALUES ($1, $2, $3, $4, $5, $6)`,
		name, id.String(), cmk, wrapped, mac, created); err != nil {
		return id, fmt.Errorf("pgcol: new cek %q: %w", name, err)
	}
	return id, nil
}

// cekMAC authenticates a CEK value's metadata with the CEK: HMAC-SHA256
// under a key derived from it, over the CEK name, key ID, CMK name and
// creation time. The creation time decides which value is current (the
// newest), so a DBA cannot make writers seal under an older value by
// editing cofre_encrypted_columns; re-inserting a retired value from a
// backup is not detected here — rotate after a compromise under a new CMK
// and revoke the old one's grant (docs/colenc.md).
func cekMAC(secret []byte, name string, id colenc.KeyID, cmk string, created time.Time) []byte {
	k := hmac.New(sha256.New, secret)
	k.Write([]byte("cofre/pgcol/cek-metadata/v1"))
	macKey := k.Sum(nil)
	h := hmac.New(sha256.New, macKey)
	for _, f := range [][]byte{[]byte(name), id[:], []byte(cmk), binary.BigEndian.AppendUint64(nil, uint64(created.UnixMicro()))} {
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(f))))
		h.Write(f)
	}
	return h.Sum(nil)
}

// cekValue is one loaded, authenticated value of a CEK name.
type cekValue struct {
	id      colenc.KeyID
	secret  []byte
	cmk     string
	created time.Time
}

// loadCEK unwraps every value of a CEK name, checking each one's metadata
// MAC. A value that does not unwrap or authenticate fails the load: keys
// are never silently skipped.
func loadCEK(ctx context.Context, db *pgxpool.Pool, kms KMS, name string) ([]cekValue, error) {
	rows, err := db.Query(ctx, `SELECT k.key_id, k.cmk, m.provider, m.key_path, k.encrypted_value, k.mac, k.created
		FROM cofre_column_encryption_keys k JOIN cofre_column_master_keys m ON m.name = k.cmk
		WHERE k.name = $1 ORDER BY k.created, k.key_id`, name)
	if err != nil {
		return nil, fmt.Errorf("pgcol: load cek %q: %w", name, err)
	}
	type rec struct {
		idText, cmk, provider, path string
		wrapped, mac                []byte
		created                     time.Time
	}
	var recs []rec
	for rows.Next() {
		var r rec
		if err := rows.Scan(&r.idText, &r.cmk, &r.provider, &r.path, &r.wrapped, &r.mac, &r.created); err != nil {
			rows.Close()
			return nil, fmt.Errorf("pgcol: load cek %q: %w", name, err)
		}
		recs = append(recs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgcol: load cek %q: %w", name, err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%w: no column encryption key %q", ErrSchema, name)
	}
	if len(recs) > MaxKeyValues {
		return nil, fmt.Errorf("%w: column encryption key %q has %d values, at most %d", ErrSchema, name, len(recs), MaxKeyValues)
	}
	var out []cekValue
	for _, r := range recs {
		id, err := parseKeyID(r.idText)
		if err != nil {
			return nil, err
		}
		if r.provider != ProviderKMS || r.path != r.cmk {
			return nil, fmt.Errorf("%w: cmk %q: provider %q key path %q, want %s and its own name", ErrSchema, r.cmk, r.provider, r.path, ProviderKMS)
		}
		secret, err := kms.Unwrap(ctx, r.cmk, r.wrapped)
		if err != nil {
			return nil, err
		}
		created := r.created.UTC().Truncate(time.Microsecond)
		if len(secret) != 32 || !hmac.Equal(cekMAC(secret, name, id, r.cmk, created), r.mac) {
			clear(secret)
			return nil, fmt.Errorf("pgcol: column encryption key %q value %s: metadata does not authenticate (edited or swapped): %w", name, id, colenc.ErrAuthentication)
		}
		out = append(out, cekValue{id: id, secret: secret, cmk: r.cmk, created: created})
	}
	return out, nil
}

func parseKeyID(s string) (colenc.KeyID, error) {
	var id colenc.KeyID
	h, ok := strings.CutPrefix(s, "colkey:")
	b, err := hex.DecodeString(h)
	if !ok || err != nil || len(b) != len(id) {
		return id, fmt.Errorf("%w: key id %q", ErrSchema, s)
	}
	copy(id[:], b)
	return id, nil
}

// checkKeyName accepts key names an operator can type and read in an error.
func checkKeyName(n string) error {
	if !keyName.MatchString(n) {
		return fmt.Errorf("%w: key name %q: want 1 to 128 letters, digits, '.', '_' or '-'", ErrSchema, n)
	}
	return nil
}

// newest returns the current value of a CEK: the newest by its
// authenticated creation time (then key ID, for a total order).
func newest(values []cekValue) cekValue {
	best := values[0]
	for _, v := range values[1:] {
		if v.created.After(best.created) || (v.created.Equal(best.created) && string(v.id[:]) > string(best.id[:])) {
			best = v
		}
	}
	return best
}
