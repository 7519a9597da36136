// SPDX-License-Identifier: Apache-2.0

package pcipass

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

func TestInvalidUTF8InDocumentsRejected(t *testing.T) {
	host, engine := newSim(t)
	before := stateJSON(t, host)

	request := gpuRequest("vm\xff")
	_, err := engine.Bind(request, nil)
	if !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("bind for owner vm\\xff: got %v, want ErrInvalidArgument", err)
	}
	want := "pcipass: owner contains invalid UTF-8 at byte 2; pcipass documents are JSON, " +
		"so pass UTF-8 text"
	if err.Error() != want {
		t.Fatalf("got %q, want %q", err.Error(), want)
	}

	request = gpuRequest("vm-42")
	request.Devices[0].Address = "0000:01:00.0\xc3"
	_, err = engine.Plan(OperationBind, request)
	if err == nil || !strings.Contains(err.Error(), "devices[0].address contains invalid UTF-8 at byte 12") {
		t.Fatalf("plan with a bad address: %v", err)
	}

	_, err = engine.Reconcile([]Desired{{Device: gpu, Owner: "\x80"}}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "[0].owner contains invalid UTF-8 at byte 0") {
		t.Fatalf("reconcile with a bad owner: %v", err)
	}

	if after := stateJSON(t, host); !bytes.Equal(before, after) {
		t.Fatalf("the simulated kernel changed:\n%s\n%s", before, after)
	}
	if owned, err := engine.Ownerships(); err != nil || len(owned) != 0 {
		t.Fatalf("ownerships: %+v, %v", owned, err)
	}
}

func TestNilHandlesRejected(t *testing.T) {
	checkNil := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("%s: got %v, want ErrInvalidArgument", what, err)
		}
		if !strings.Contains(err.Error(), " is nil; ") {
			t.Fatalf("%s: got %q", what, err.Error())
		}
	}

	engine, err := OpenEngine(nil, t.TempDir())
	if engine != nil {
		t.Fatalf("OpenEngine(nil) returned an engine")
	}
	checkNil("OpenEngine(nil)", err)

	var host *Host
	_, err = host.Scan()
	checkNil("Host.Scan", err)
	_, err = host.SimState()
	checkNil("Host.SimState", err)
	checkNil("Host.SimOpenNode", host.SimOpenNode("dev/vfio/7", 1, "qemu"))
	if err := host.Close(); err != nil {
		t.Fatalf("Host.Close: %v", err)
	}

	var nilEngine *Engine
	_, err = nilEngine.Bind(gpuRequest("vm-42"), nil)
	checkNil("Engine.Bind", err)
	_, err = nilEngine.Ownerships()
	checkNil("Engine.Ownerships", err)
	if err := nilEngine.Close(); err != nil {
		t.Fatalf("Engine.Close: %v", err)
	}

	var graph *Graph
	_, err = graph.JSON()
	checkNil("Graph.JSON", err)
	if err := graph.Close(); err != nil {
		t.Fatalf("Graph.Close: %v", err)
	}

	var watcher *Watcher
	_, err = watcher.Fd()
	checkNil("Watcher.Fd", err)
	_, err = watcher.Next(0)
	checkNil("Watcher.Next", err)
	if err := watcher.Close(); err != nil {
		t.Fatalf("Watcher.Close: %v", err)
	}
}

func TestSimulatedEngineNeedsStateDir(t *testing.T) {
	host, _ := newSim(t)
	engine, err := OpenEngine(host, "")
	if engine != nil {
		t.Fatalf("OpenEngine(sim, \"\") returned an engine")
	}
	if !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("got %v, want ErrInvalidArgument", err)
	}
	if !strings.Contains(err.Error(), "simulated kernel needs its own state directory") {
		t.Fatalf("got %q", err.Error())
	}
}
