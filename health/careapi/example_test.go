package careapi_test

import (
	"fmt"
	"strings"

	"github.com/cofre-cc/cofre/health/careapi"
)

// The CLI hashes a staff password for the policy; the care API reads the
// accounts file the policy renders.
func ExampleHashPassword() {
	hash, err := careapi.HashPassword("correct horse battery staple")
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.HasPrefix(hash, "$argon2id$v=19$m=65536,t=3,p=2$"))

	accounts, err := careapi.ParseAccounts([]byte(`{"accounts":[
		{"username":"alice","role":"clinician","password_hash":"` + hash + `"}]}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(accounts[0].Username, accounts[0].Role)
	// Output:
	// true
	// alice clinician
}
