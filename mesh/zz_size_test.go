package mesh

import (
	"testing"
	"unsafe"
)

func TestZZSize(t *testing.T) {
	t.Logf("Node %d Config %d Deps %d Stats %d peer %d link %d heldEntry %d record %d ackEntry %d inflight %d memLink %d MemTransport %d", unsafe.Sizeof(Node{}), unsafe.Sizeof(Config{}), unsafe.Sizeof(Deps{}), unsafe.Sizeof(Stats{}), unsafe.Sizeof(peer{}), unsafe.Sizeof(link{}), unsafe.Sizeof(heldEntry{}), unsafe.Sizeof(record{}), unsafe.Sizeof(ackEntry{}), unsafe.Sizeof(inflight{}), unsafe.Sizeof(memLink{}), unsafe.Sizeof(MemTransport{}))
}
