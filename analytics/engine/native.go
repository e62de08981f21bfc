package engine

import (
	"strings"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
)

// Thrift PageType values (parquet.thrift); arrow-go's generated type is in
// an internal package.
const (
	pageTypeData   = 0 // DATA_PAGE
	pageTypeDataV2 = 3 // DATA_PAGE_V2
)

// aadFileUniqueLen is the length of the random aad_file_unique arrow-go and
// parquet-java write; a longer file AAD means an AAD prefix, which DuckDB's
// reader is not given.
const aadFileUniqueLen = 8

// nativeFile is what DuckDB's own Parquet reader needs to read one file:
// its footer key (the data encryption key, already unwrapped through the
// KMS), or nil for a plaintext file.
type nativeFile struct {
	key []byte
}

// nativeInfo reports whether DuckDB's own reader can read the opened file
// — plaintext, or encrypted uniformly: encrypted footer, AES_GCM_V1, no AAD
// prefix, every column under the footer key, a 256-bit key: what DuckDB
// supports — and
// returns what it needs. DuckDB authenticates every module (pages, page
// headers, footer) with the same AAD scheme as arrow-go; files with
// per-column keys, a plaintext footer or AES-GCM-CTR go through arrow-go.
func nativeInfo(path string, pf *file.Reader) (nf nativeFile, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	// read_parquet takes glob patterns: a path with a metacharacter could
	// name other files.
	if strings.ContainsAny(path, "*?[]{}") {
		return nf, false
	}
	md := pf.MetaData()
	fd := md.FileDecryptor
	if md.IsSetEncryptionAlgorithm() {
		return nf, false // plaintext footer, signed: not supported by DuckDB
	}
	if fd == nil {
		return nf, true // a plaintext file
	}
	if fd.Algorithm() != parquet.AesGcm || len(fd.FileAad()) != aadFileUniqueLen {
		return nf, false
	}
	for _, rg := range md.RowGroups {
		for _, cc := range rg.Columns {
			if cc.CryptoMetadata == nil || !cc.CryptoMetadata.IsSetENCRYPTION_WITH_FOOTER_KEY() || cc.MetaData == nil {
				return nf, false
			}
			// Exactly one v1 data page, by the page encoding statistics:
			// DuckDB 1.4's reader authenticates the first data page of an
			// encrypted chunk and fails the tag check of the next ones
			// (measured: its page ordinal in the AAD is not the spec's),
			// and does not decrypt v2 pages. No statistics: no.
			var pages int32
			for _, st := range cc.MetaData.EncodingStats {
				switch int(st.PageType) {
				case pageTypeData:
					pages += st.Count
				case pageTypeDataV2:
					return nf, false
				}
			}
			if pages != 1 {
				return nf, false
			}
		}
	}
	// DuckDB 1.4's reader fails the tag check of files under 128-bit keys
	// (measured: "Computed AES tag differs"); 256-bit keys work.
	k := fd.GetFooterKey()
	if len(k) != 32 {
		return nf, false
	}
	return nativeFile{key: []byte(k)}, true
}
