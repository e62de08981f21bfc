// Package chest embeds the demonstration chest-image model (model.onnx,
// labels.txt; see README.md: synthetic training data, no clinical
// validity), so cofre health up can serve it from the binary alone.
package chest

import (
	_ "embed"
	"strings"
)

// Model is the ONNX model: input "image" FP32 [N,1,224,224] in [0,1],
// output "probabilities" FP32 [N,4].
//
//go:embed model.onnx
var Model []byte

//go:embed labels.txt
var labels string

// Labels returns the output classes, in order.
func Labels() []string { return strings.Fields(labels) }
