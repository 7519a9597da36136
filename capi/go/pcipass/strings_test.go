// SPDX-License-Identifier: Apache-2.0

package pcipass

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// checkNUL checks that err rejects argument name for the NUL at index.
func checkNUL(t *testing.T, err error, name string, index int) {
	t.Helper()
	if !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("%s: got %v, want ErrInvalidArgument", name, err)
	}
	want := fmt.Sprintf("pcipass: %s contains a NUL byte at index %d; pcipass strings end "+
		"at the first NUL, so remove it", name, index)
	if err.Error() != want {
		t.Fatalf("got %q, want %q", err.Error(), want)
	}
}

func TestNULInStringArgumentsRejected(t *testing.T) {
	host, _ := newSim(t)
	before := stateJSON(t, host)

	_, err := LibvirtHostdev("0000:01:00.1\x00ignored")
	checkNUL(t, err, "address", 12)

	_, err = OpenLive("/\x00tmp")
	checkNUL(t, err, "root", 1)

	_, err = NewSim([]byte("{\x00"), nil)
	checkNUL(t, err, "topology", 1)

	stateDir := filepath.Join(t.TempDir(), "state")
	_, err = OpenEngine(host, stateDir+"\x00/elsewhere")
	checkNUL(t, err, "stateDir", len(stateDir))
	if _, statErr := os.Stat(stateDir); !errors.Is(statErr, os.ErrNotExist) {
		t.Fatalf("the state directory was created: %v", statErr)
	}

	tree := filepath.Join(t.TempDir(), "tree")
	checkNUL(t, host.SimMaterialize(tree+"\x00x"), "dir", len(tree))
	if _, statErr := os.Stat(tree); !errors.Is(statErr, os.ErrNotExist) {
		t.Fatalf("the tree was created: %v", statErr)
	}

	checkNUL(t, host.SimOpenNode("dev/vfio/7\x00", 42, "qemu"), "path", 10)
	checkNUL(t, host.SimOpenNode("dev/vfio/7", 42, "qemu\x00x"), "command", 4)
	checkNUL(t, host.SimCloseNode("dev/vfio/7\x00", 42), "path", 10)
	checkNUL(t, host.SimUnloadModule("nouveau\x00"), "module", 7)

	_, err = ClaimFromPCIDevice([]byte("{\x00}"), nil)
	checkNUL(t, err, "pcidevice", 1)
	_, err = KubeVirtEntries([]byte("[\x00]"))
	checkNUL(t, err, "pcidevices", 1)

	graph, err := host.Scan()
	if err != nil {
		t.Fatal(err)
	}
	defer graph.Close()
	_, err = graph.ValidateClaim([]byte("{}\x00"), "ws1", nil)
	checkNUL(t, err, "claim", 2)
	_, err = graph.ValidateClaim([]byte("{}"), "ws1\x00", nil)
	checkNUL(t, err, "node", 3)
	_, err = graph.ValidateClaim([]byte("{}"), "ws1", []byte("\x00"))
	checkNUL(t, err, "pcidevice", 0)

	if after := stateJSON(t, host); !bytes.Equal(after, before) {
		t.Fatalf("the simulated state changed:\n%s", after)
	}
	if driver, override := binding(t, host, gpu); driver != "nouveau" || override != "" {
		t.Fatalf("the GPU is bound to %q (override %q), want nouveau and no override",
			driver, override)
	}
}
