// SPDX-License-Identifier: Apache-2.0

// Command bind_gpu binds the GPU group of a simulated workstation to
// vfio-pci through the Go package, prints the PCIDeviceClaims for the group
// and releases it again.
//
// Usage: bind_gpu TOPOLOGY STATE_DIR (tests/topologies/gpu-workstation.json)
package main

import (
	"fmt"
	"os"

	"pcipass.invalid/pcipass"
)

const gpu = "0000:01:00.0"

func run(topologyFile, stateDir string) error {
	topology, err := os.ReadFile(topologyFile)
	if err != nil {
		return err
	}
	host, err := pcipass.NewSim(topology, nil)
	if err != nil {
		return err
	}
	defer host.Close()

	engine, err := pcipass.OpenEngine(host, stateDir)
	if err != nil {
		return err
	}
	defer engine.Close()

	request := pcipass.Request{Devices: pcipass.Devices(gpu), Owner: "vm-42"}
	if _, err := engine.Bind(request, nil); err != nil {
		return err
	}

	graph, err := host.Scan()
	if err != nil {
		return err
	}
	defer graph.Close()

	// The uids come from the API server (kubectl get pcidevice NAME -o
	// jsonpath='{.metadata.uid}'); these stand in for them.
	objects, err := graph.BuildObjects(pcipass.ObjectsRequest{
		Address:  gpu,
		Node:     "ws1",
		Siblings: true,
		UserName: "vm-42",
		UIDs: map[string]string{"0000:01:00.0": "uid-gpu", "0000:01:00.1": "uid-audio",
			"0000:01:00.2": "uid-usb", "0000:01:00.3": "uid-ucsi"},
	})
	if err != nil {
		return err
	}
	fmt.Println(string(objects))

	_, err = engine.Release(request, nil)
	return err
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintf(os.Stderr, "usage: %s TOPOLOGY STATE_DIR\n", os.Args[0])
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
