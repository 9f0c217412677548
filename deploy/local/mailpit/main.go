// Command mailpit runs Mailpit's SMTP capture server and HTTP API for local development and tests.
package main

import "github.com/axllent/mailpit/cmd"

func main() {
	cmd.Execute()
}
