package chest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"slices"
	"testing"
)

// TestEmbedded: the embedded model is the one metrics.json describes.
func TestEmbedded(t *testing.T) {
	b, err := os.ReadFile("metrics.json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		ModelSHA256 string `json:"model_sha256"`
	}
	json.Unmarshal(b, &m)
	sum := sha256.Sum256(Model)
	if m.ModelSHA256 == "" || hex.EncodeToString(sum[:]) != m.ModelSHA256 {
		t.Fatalf("embedded model sha256 %x, metrics.json says %q", sum, m.ModelSHA256)
	}
	if !slices.Equal(Labels(), []string{"normal", "nodule", "effusion", "cardiomegaly"}) {
		t.Fatalf("labels %v", Labels())
	}
}
