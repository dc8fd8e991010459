package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.3".
var version = "dev"

func runVersion(c *cli, args []string) error {
	f := c.flags("version", "toxmail version", "Prints the version of toxmail and of the Go toolchain that built it.")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if err := f.positional(pos); err != nil {
		return err
	}
	// The binding has no libtoxcore version call, so it is not shown.
	fmt.Fprintf(c.stdout, "toxmail %s (%s)\n", buildVersion(), runtime.Version())
	return nil
}

// buildVersion is version, or the module version recorded by `go install
// module@version` when version was not set.
func buildVersion() string {
	if version != "dev" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return version
}
