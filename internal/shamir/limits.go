package shamir

const (
	// MaxShares is the largest number of shares: the x coordinates are the
	// nonzero bytes, and two shares with one x are the same point.
	MaxShares = 255

	// MaxSecretLen caps the secret (and a share's y values) at 1 KiB.
	// cofre shares 32-byte keys; the cap keeps Combine's work on shares
	// that arrive from outside bounded (about MaxShares * MaxSecretLen
	// multiplications) and turns a misuse, such as splitting a file, into
	// an error.
	MaxSecretLen = 1024
)
