package snp

// TCB_VERSION byte offsets (SEV-SNP firmware ABI specification 56860,
// "TCB_VERSION Structure"). Families 19h (Milan, Genoa) and 1Ah (Turin)
// lay the 64-bit value out differently; the remaining bytes are reserved.
const (
	// Family 19h: BOOT_LOADER[7:0], TEE[15:8], SNP[55:48], MICROCODE[63:56].
	tcbBootloader19h = 0
	tcbTEE19h        = 1
	tcbSNP19h        = 6
	tcbMicrocode19h  = 7

	// Family 1Ah: FMC[7:0], BOOT_LOADER[15:8], TEE[23:16], SNP[31:24],
	// MICROCODE[63:56].
	tcbFMC1Ah        = 0
	tcbBootloader1Ah = 1
	tcbTEE1Ah        = 2
	tcbSNP1Ah        = 3
	tcbMicrocode1Ah  = 7
)

// tcbParts names the security patch levels of a TCB_VERSION, for the given
// product line. The keys are those of attest.Claims.TCB.
func tcbParts(productLine string, v uint64) map[string]uint64 {
	b := func(i int) uint64 { return (v >> (8 * i)) & 0xff }
	if productLine == "Turin" {
		return map[string]uint64{
			"fmc":        b(tcbFMC1Ah),
			"bootloader": b(tcbBootloader1Ah),
			"tee":        b(tcbTEE1Ah),
			"snp":        b(tcbSNP1Ah),
			"microcode":  b(tcbMicrocode1Ah),
		}
	}
	return map[string]uint64{
		"bootloader": b(tcbBootloader19h),
		"tee":        b(tcbTEE19h),
		"snp":        b(tcbSNP19h),
		"microcode":  b(tcbMicrocode19h),
	}
}

// tcbExceeds reports whether any byte of TCB version a is higher than the
// same byte of b. Comparing every byte (reserved ones included) makes the
// answer independent of the product line's layout.
func tcbExceeds(a, b uint64) bool {
	for i := range 8 {
		if (a>>(8*i))&0xff > (b>>(8*i))&0xff {
			return true
		}
	}
	return false
}
