// SPDX-License-Identifier: Apache-2.0

package pcipass

// #cgo pkg-config: pcipass
// #include <stdlib.h>
// #include <pcipass.h>
import "C"

// ClaimOptions are the optional fields of a PCIDeviceClaim.
type ClaimOptions struct {
	UserName           string `json:"user_name"`
	Controller         bool   `json:"controller"`
	BlockOwnerDeletion bool   `json:"block_owner_deletion"`
}

// ObjectsRequest is the request of Graph.BuildObjects: the device, its node
// and uids, and the objects to include.
type ObjectsRequest struct {
	Address string `json:"address"`
	Node    string `json:"node"`
	// UIDs maps each address to the metadata.uid of its PCIDevice.
	UIDs               map[string]string `json:"uids"`
	UserName           string            `json:"user_name,omitempty"`
	Controller         bool              `json:"controller,omitempty"`
	BlockOwnerDeletion bool              `json:"block_owner_deletion,omitempty"`
	// Siblings adds a claim for every endpoint of the IOMMU group.
	Siblings   bool `json:"siblings,omitempty"`
	PCIDevices bool `json:"pcidevices,omitempty"`
	KubeVirt   bool `json:"kubevirt,omitempty"`
	Libvirt    bool `json:"libvirt,omitempty"`
}

// stringCall runs a pure pcipass function that returns a string.
func stringCall(call func(**C.char, **C.pcipass_error) C.int) ([]byte, error) {
	if versionError != nil {
		return nil, versionError
	}
	var out *C.char
	var cerr *C.pcipass_error
	if err := check(call(&out, &cerr), cerr); err != nil {
		return nil, err
	}
	return takeString(out), nil
}

// ClaimFromPCIDevice builds the PCIDeviceClaim for a PCIDevice as the API
// server returned it. The claim has exactly one owner reference, to that
// PCIDevice; without its metadata.name or metadata.uid there is no claim,
// only an error matching ErrMissingOwnerReference. options may be nil.
func ClaimFromPCIDevice(pcidevice []byte, options *ClaimOptions) ([]byte, error) {
	cpcidevice, err := cString("pcidevice", string(pcidevice))
	if err != nil {
		return nil, err
	}
	defer free(cpcidevice)
	var coptions *C.char
	if options != nil {
		document := struct {
			Schema string `json:"schema"`
			ClaimOptions
		}{"pcipass.claim-options/v1", *options}
		var err error
		if coptions, err = cDocument(document); err != nil {
			return nil, err
		}
		defer free(coptions)
	}
	return stringCall(func(out **C.char, cerr **C.pcipass_error) C.int {
		return C.pcipass_claim_from_pcidevice(cpcidevice, coptions, out, cerr)
	})
}

// KubeVirtEntries builds the KubeVirt hostDevices and pciHostDevices
// entries for PCIDevice objects, given as a JSON array or a Kubernetes List.
func KubeVirtEntries(pcidevices []byte) ([]byte, error) {
	cpcidevices, err := cString("pcidevices", string(pcidevices))
	if err != nil {
		return nil, err
	}
	defer free(cpcidevices)
	return stringCall(func(out **C.char, cerr **C.pcipass_error) C.int {
		return C.pcipass_kubevirt_entries(cpcidevices, out, cerr)
	})
}

// LibvirtHostdev returns the libvirt <hostdev> element for a PCI address.
func LibvirtHostdev(address string) (string, error) {
	caddress, err := cString("address", address)
	if err != nil {
		return "", err
	}
	defer free(caddress)
	xml, err := stringCall(func(out **C.char, cerr **C.pcipass_error) C.int {
		return C.pcipass_libvirt_hostdev(caddress, out, cerr)
	})
	return string(xml), err
}
