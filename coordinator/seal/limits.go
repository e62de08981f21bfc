package seal

const (
	// DataKeySize is the size of the store's data key and of every
	// namespace key: AES-256.
	DataKeySize = 32

	// MaxMeasurementLen bounds the identity a SimSealer binds to. The
	// largest TEE measurement is SHA-384 (48 bytes: TDX MRTD, SEV-SNP
	// launch digest); 64 leaves room for SHA-512 without accepting
	// arbitrary blobs.
	MaxMeasurementLen = 64

	// maxDataKeyFile caps how much of a data-key file is read. The file is
	// a PEM block around about 60 bytes of ciphertext; a hardware sealer's
	// envelope (an SGX sealed blob header, say) adds a few hundred. The
	// cap keeps a hostile file from making the coordinator read gigabytes
	// at startup.
	maxDataKeyFile = 16 << 10

	// maxKeyFile caps a KeyFileSealer key file: a PEM block of 32 bytes.
	maxKeyFile = 4 << 10

	// MinRecoverySecret and MaxRecoverySecret bound what a recovery record
	// protects. The record's commitments and check value are public and
	// can be tested offline against guesses, so the secret must be a key,
	// not a password: at least 128 bits. The upper bound is Shamir's.
	MinRecoverySecret = 16
	MaxRecoverySecret = 1024

	// MaxRecoveryHolders is the most holders a record names: Shamir's 255
	// x coordinates.
	MaxRecoveryHolders = 255

	// MaxHolderNameLen bounds a holder's name, which appears in errors
	// and in the HPKE info string.
	MaxHolderNameLen = 128

	// MaxRecoveryInfoLen bounds the record's info (a manifest name).
	MaxRecoveryInfoLen = 256

	// maxRecoveryRecord caps the encoded record that ParseRecoveryRecord
	// accepts. 255 holders with a 1 KiB secret each take about 400 KiB in
	// JSON (base64 ciphertexts); 1 MiB bounds the parser's work.
	maxRecoveryRecord = 1 << 20
)
