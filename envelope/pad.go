package envelope

import "math/bits"

// minBucket is the smallest padded size of the outer plaintext.
const minBucket = 512

// PaddedSize returns the Padmé bucket for n bytes (Nikitin et al., "Reducing
// Metadata Leakage from Encrypted Files and Communication with PURBs", 2019):
// the length keeps only its top ⌊log2 ⌊log2 n⌋⌋+1 bits, so the overhead is at
// most 12% and the bucket reveals O(log log n) bits. Sizes below 512 bytes
// pad to 512.
func PaddedSize(n int) int {
	if n <= minBucket {
		return minBucket
	}
	e := bits.Len(uint(n)) - 1 // ⌊log2 n⌋
	s := bits.Len(uint(e))     // ⌊log2 e⌋ + 1
	mask := (1 << (e - s)) - 1 // low bits to clear
	return (n + mask) &^ mask
}
