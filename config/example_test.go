package config_test

import (
	"fmt"

	"github.com/toxmail/toxmail/config"
)

func ExampleParse() {
	file := []byte(`
[mesh]
ttl = 3
lifetime = "3d"
max_held_bytes = "1GiB"

[dashboard]
token = "an-example-token-of-at-least-32-characters"
`)
	c, err := config.Parse(file, "/home/alice/.toxmail/toxmail.toml")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.DataDir)
	fmt.Println(c.Mesh.TTL, c.Mesh.Lifetime, c.Mesh.MaxHeldBytes)
	fmt.Println(c.SMTPConfig().Addr, c.ProfilePath())
	// Output:
	// /home/alice/.toxmail
	// 3 72h0m0s 1073741824
	// 127.0.0.1:1025 /home/alice/.toxmail/toxmail.tox
}

func ExampleParse_errors() {
	file := []byte(`[mesh]
ttl = 0
lifetime = "soon"

[smtp]
lisen = "127.0.0.1:2525"

[dashboard]
token = "an-example-token-of-at-least-32-characters"
`)
	_, err := config.Parse(file, "toxmail.toml")
	fmt.Println(err)
	// Output:
	// toxmail.toml:2: mesh.ttl = 0: out of range: want 1..max_hops (8)
	// toxmail.toml:3: mesh.lifetime = "soon": want a duration such as "90s", "10m", "2h" or "7d" (allowed: 1m..max_lifetime)
	// toxmail.toml:6: unknown key smtp.lisen (did you mean smtp.listen?)
}
