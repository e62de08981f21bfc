// Command cofre is the confidential-computing platform's single binary:
// attestation tooling, services and launchers, one subcommand each.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
