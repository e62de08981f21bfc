package pme

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"unicode/utf8"
)

// Key material (parquet-java org.apache.parquet.crypto.keytools.KeyMaterial
// and KeyMetadata, "PKMT1"), internal storage only: the key_metadata field of
// the footer (FileCryptoMetaData or FileMetaData.footer_signing_key_metadata)
// and of each column (ColumnCryptoMetaData) holds a flat JSON object:
//
//	keyMaterialType     "PKMT1"
//	internalStorage     true (false means external key material files:
//	                    not supported)
//	isFooterKey         bool
//	kmsInstanceID       string, footer key only ("DEFAULT" unless set)
//	kmsInstanceURL      string, footer key only ("DEFAULT" unless set)
//	masterKeyID         string
//	wrappedDEK          string: single wrapping, what the KMS's wrapKey
//	                    returned; double wrapping, base64(nonce ‖ AES-GCM(KEK,
//	                    DEK, aad = raw KEK ID) ‖ tag)
//	doubleWrapping      bool
//	keyEncryptionKeyID  base64 of the 16-byte KEK ID, double wrapping only
//	wrappedKEK          what the KMS's wrapKey returned for the KEK, double
//	                    wrapping only
//
// Booleans are JSON booleans, as parquet-java 1.12+ (Jackson with
// Map<String,Object>) and Arrow C++ write and require them. Field order is
// irrelevant to readers; we write the order above, as Arrow C++ does.
const (
	keyMaterialType1   = "PKMT1"
	defaultKMSInstance = "DEFAULT" // KmsClient.KMS_INSTANCE_ID_DEFAULT and _URL_DEFAULT
)

// keyMaterial is one parsed key_metadata field.
type keyMaterial struct {
	IsFooterKey    bool
	KMSInstanceID  string // footer key only
	KMSInstanceURL string // footer key only
	MasterKeyID    string
	WrappedDEK     string
	DoubleWrapping bool
	KEKID          string // base64 of kekIDLen bytes; double wrapping only
	WrappedKEK     string // double wrapping only
}

// wireKeyMaterial is the JSON form. Pointers tell a missing field from a
// zero value, and keep absent fields absent when writing.
type wireKeyMaterial struct {
	KeyMaterialType *string `json:"keyMaterialType"`
	InternalStorage *bool   `json:"internalStorage"`
	IsFooterKey     *bool   `json:"isFooterKey"`
	KMSInstanceID   *string `json:"kmsInstanceID,omitempty"`
	KMSInstanceURL  *string `json:"kmsInstanceURL,omitempty"`
	MasterKeyID     *string `json:"masterKeyID"`
	WrappedDEK      *string `json:"wrappedDEK"`
	DoubleWrapping  *bool   `json:"doubleWrapping"`
	KEKID           *string `json:"keyEncryptionKeyID,omitempty"`
	WrappedKEK      *string `json:"wrappedKEK,omitempty"`
}

// marshal returns the internal-storage key metadata bytes.
func (m *keyMaterial) marshal() []byte {
	t, internal := keyMaterialType1, true
	w := wireKeyMaterial{
		KeyMaterialType: &t,
		InternalStorage: &internal,
		IsFooterKey:     &m.IsFooterKey,
		MasterKeyID:     &m.MasterKeyID,
		WrappedDEK:      &m.WrappedDEK,
		DoubleWrapping:  &m.DoubleWrapping,
	}
	if m.IsFooterKey {
		w.KMSInstanceID, w.KMSInstanceURL = &m.KMSInstanceID, &m.KMSInstanceURL
	}
	if m.DoubleWrapping {
		w.KEKID, w.WrappedKEK = &m.KEKID, &m.WrappedKEK
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Jackson does not escape <, > and &; neither do we, so the bytes
	// match what parquet-java writes for the same values.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&w); err != nil {
		panic("pme: marshal key material: " + err.Error()) // only strings and bools
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// parseKeyMaterial parses an untrusted key_metadata field. It checks
// everything that does not need a key: the type, internal storage, that
// every field the wrapping mode needs is present, non-empty and bounded,
// and that the KEK ID decodes to kekIDLen bytes. Errors wrap
// ErrKeyMaterial and never quote the wrapped keys.
func parseKeyMaterial(b []byte) (*keyMaterial, error) {
	if len(b) > maxKeyMetadata {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrKeyMaterial, len(b), maxKeyMetadata)
	}
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("%w: not UTF-8", ErrKeyMaterial)
	}
	var w wireKeyMaterial
	dec := json.NewDecoder(bytes.NewReader(b))
	// parquet-java writes exactly these fields; anything else is another
	// format (external key material, a future version) we must not
	// misread.
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrKeyMaterial, jsonErr(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", ErrKeyMaterial)
	}
	if w.KeyMaterialType == nil || *w.KeyMaterialType != keyMaterialType1 {
		return nil, fmt.Errorf("%w: keyMaterialType: expected %q, got %s", ErrKeyMaterial, keyMaterialType1, quoteOpt(w.KeyMaterialType))
	}
	if w.InternalStorage == nil || !*w.InternalStorage {
		return nil, fmt.Errorf("%w: internalStorage: expected true (external key material files are not supported)", ErrKeyMaterial)
	}
	m := &keyMaterial{}
	var err error
	if m.IsFooterKey, err = reqBool("isFooterKey", w.IsFooterKey); err != nil {
		return nil, err
	}
	if m.DoubleWrapping, err = reqBool("doubleWrapping", w.DoubleWrapping); err != nil {
		return nil, err
	}
	if m.MasterKeyID, err = reqString("masterKeyID", w.MasterKeyID, maxIDLen); err != nil {
		return nil, err
	}
	if m.WrappedDEK, err = reqString("wrappedDEK", w.WrappedDEK, maxWrappedLen); err != nil {
		return nil, err
	}
	if m.IsFooterKey {
		if m.KMSInstanceID, err = reqString("kmsInstanceID", w.KMSInstanceID, maxIDLen); err != nil {
			return nil, err
		}
		if m.KMSInstanceURL, err = reqString("kmsInstanceURL", w.KMSInstanceURL, maxIDLen); err != nil {
			return nil, err
		}
	} else if w.KMSInstanceID != nil || w.KMSInstanceURL != nil {
		return nil, fmt.Errorf("%w: kmsInstanceID/kmsInstanceURL in a column key's material", ErrKeyMaterial)
	}
	if m.DoubleWrapping {
		if m.KEKID, err = reqString("keyEncryptionKeyID", w.KEKID, maxIDLen); err != nil {
			return nil, err
		}
		if id, err := base64.StdEncoding.Strict().DecodeString(m.KEKID); err != nil || len(id) != kekIDLen {
			return nil, fmt.Errorf("%w: keyEncryptionKeyID: expected base64 of %d bytes", ErrKeyMaterial, kekIDLen)
		}
		if m.WrappedKEK, err = reqString("wrappedKEK", w.WrappedKEK, maxWrappedLen); err != nil {
			return nil, err
		}
	} else if w.KEKID != nil || w.WrappedKEK != nil {
		return nil, fmt.Errorf("%w: keyEncryptionKeyID/wrappedKEK without doubleWrapping", ErrKeyMaterial)
	}
	return m, nil
}

func reqBool(name string, v *bool) (bool, error) {
	if v == nil {
		return false, fmt.Errorf("%w: %s: missing", ErrKeyMaterial, name)
	}
	return *v, nil
}

func reqString(name string, v *string, max int) (string, error) {
	switch {
	case v == nil:
		return "", fmt.Errorf("%w: %s: missing", ErrKeyMaterial, name)
	case *v == "":
		return "", fmt.Errorf("%w: %s: empty", ErrKeyMaterial, name)
	case len(*v) > max:
		return "", fmt.Errorf("%w: %s: %d bytes, more than %d", ErrKeyMaterial, name, len(*v), max)
	}
	return *v, nil
}

func quoteOpt(s *string) string {
	if s == nil {
		return "nothing"
	}
	return clipID(*s)
}

// clipID quotes an ID taken from a file or a config for an error message,
// clipped to maxErrIDLen bytes. IDs are names, never secrets.
func clipID(s string) string {
	if len(s) > maxErrIDLen {
		s = s[:maxErrIDLen] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// jsonErr describes a decoding error without echoing the input: a type
// error names the field, a syntax error its offset.
func jsonErr(err error) string {
	switch e := err.(type) {
	case *json.SyntaxError:
		return fmt.Sprintf("invalid JSON at offset %d", e.Offset)
	case *json.UnmarshalTypeError:
		return fmt.Sprintf("%s: expected %s, got JSON %s", e.Field, e.Type, e.Value)
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return "truncated JSON"
	}
	// DisallowUnknownFields: `json: unknown field "x"`; the name is from
	// the file but is not secret. Clip it anyway.
	msg := err.Error()
	if len(msg) > 2*maxErrIDLen {
		msg = msg[:2*maxErrIDLen] + "…"
	}
	return msg
}
