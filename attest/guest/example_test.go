package guest_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/guest"
)

// The launcher's choice: in-guest evidence where the process runs in a
// TEE, the node agent's otherwise.
func ExampleDetect() {
	p, err := guest.Detect(guest.Config{})
	if errors.Is(err, guest.ErrNoTEE) {
		fmt.Println("no TEE here: ask the node agent")
		return
	}
	if err != nil {
		fmt.Println("cannot tell:", err)
		return
	}
	var reportData [attest.ReportDataSize]byte // attest.ReportData(nonce, key, digest)
	ev, err := p.Produce(context.Background(), reportData)
	if err != nil {
		fmt.Println("produce:", err)
		return
	}
	fmt.Println(ev.Format)
}
