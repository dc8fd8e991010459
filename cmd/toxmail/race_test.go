//go:build race

package main

// raceEnabled says the tests run with the race detector, so TestMain
// builds the binary with it too.
const raceEnabled = true
