package oip_test

import (
	"fmt"

	"github.com/cofre-cc/cofre/infer/oip"
)

func ExampleDecodeInferRequest() {
	req, err := oip.DecodeInferRequest([]byte(`{"id":"42","inputs":[
		{"name":"image","shape":[1,2,2],"datatype":"UINT8","data":[[[0,255],[128,7]]]}]}`))
	if err != nil {
		panic(err)
	}
	in := req.Inputs[0]
	fmt.Println(req.ID, in.Name, in.Datatype, in.Shape, in.Data)

	_, err = oip.DecodeInferRequest([]byte(`{"inputs":[
		{"name":"image","shape":[1,2],"datatype":"UINT8","data":[0,256]}]}`))
	fmt.Println(err)
	// Output:
	// 42 image UINT8 [1 2 2] [0 255 128 7]
	// oip: malformed message: inputs[0].data: at byte 3: UINT8 element out of range
}
