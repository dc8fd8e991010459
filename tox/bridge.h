// C glue between libtoxcore and the Go package. libtoxcore calls the static
// functions in bridge.c, which forward to the //export'ed Go functions in
// callbacks.go with the cgo.Handle that was passed as user_data.

#ifndef TOXMAIL_BRIDGE_H
#define TOXMAIL_BRIDGE_H

#include <stdint.h>
#include <stdlib.h>
#include <tox/tox.h>
#include <tox/toxencryptsave.h>

// toxmail_install_callbacks registers every event callback the binding uses.
void toxmail_install_callbacks(Tox *tox);

// toxmail_iterate runs tox_iterate with the handle as user_data.
void toxmail_iterate(Tox *tox, uintptr_t handle);

// toxmail_options_set_log routes libtoxcore's log into Go. Messages below
// min_level are dropped in C, without a round trip into Go.
void toxmail_options_set_log(struct Tox_Options *opts, uintptr_t handle, int min_level);

// toxmail_wipe zeroes n bytes at p in a way the compiler keeps.
void toxmail_wipe(void *p, size_t n);

#endif
