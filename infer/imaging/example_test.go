package imaging_test

import (
	"fmt"
	"os"

	"github.com/cofre-cc/cofre/infer/imaging"
)

func ExampleDecode() {
	data, err := os.ReadFile("testdata/MR_small.dcm")
	if err != nil {
		panic(err)
	}
	im, err := imaging.Decode(data)
	if err != nil {
		fmt.Println(err) // names the refused feature or limit, never patient data
		return
	}
	fmt.Println(im.Meta.Format, im.Meta.Modality, im.Meta.Width, im.Meta.Height, len(im.Pixels), imaging.Shape())
	// Output: dicom MR 64 64 50176 [1 1 224 224]
}
