// SPDX-License-Identifier: Apache-2.0

package pcipass

// #cgo pkg-config: pcipass
// #include <stdlib.h>
// #include <pcipass.h>
import "C"

import "encoding/json"

// Host is a machine pcipass reads and writes: the live kernel, a
// kernel-shaped tree beneath a root, or a simulated kernel from NewSim.
// The Sim* methods fail with ErrInvalidArgument on a host that is not
// simulated. A Host is safe for concurrent use.
type Host struct {
	handle handle[*C.pcipass_host]
}

// OpenLive opens the real machine (root "/") or a kernel-shaped tree
// beneath root. Every read stays beneath root. Nothing is written until an
// Engine is opened on the host and asked to.
func OpenLive(root string) (*Host, error) {
	if versionError != nil {
		return nil, versionError
	}
	croot, err := cString("root", root)
	if err != nil {
		return nil, err
	}
	defer free(croot)

	var handle *C.pcipass_host
	var cerr *C.pcipass_error
	if err := check(C.pcipass_host_open_live(croot, &handle, &cerr), cerr); err != nil {
		return nil, err
	}
	return &Host{handle: newHandle(handle, "host")}, nil
}

// SimOptions are the options of a simulated kernel.
type SimOptions struct {
	// NULOverrideQuirk models kernels 5.19 to 6.0, which stored an empty
	// driver_override when it was written with NUL bytes.
	NULOverrideQuirk bool `json:"nul_override_quirk"`
	// DisableLog turns off the operation log that SimLog returns.
	DisableLog bool `json:"-"`
}

// NewSim creates a simulated kernel in the state a "pcipass.topology/v1"
// document describes. Its writes follow the kernel's rules and change only
// its memory. options may be nil.
func NewSim(topology []byte, options *SimOptions) (*Host, error) {
	if versionError != nil {
		return nil, versionError
	}
	if options == nil {
		options = &SimOptions{}
	}
	document := map[string]interface{}{
		"schema":             "pcipass.sim-options/v1",
		"nul_override_quirk": options.NULOverrideQuirk,
		"record_log":         !options.DisableLog,
	}
	coptions, err := cDocument(document)
	if err != nil {
		return nil, err
	}
	defer free(coptions)
	ctopology, err := cString("topology", string(topology))
	if err != nil {
		return nil, err
	}
	defer free(ctopology)

	var handle *C.pcipass_host
	var cerr *C.pcipass_error
	if err := check(C.pcipass_sim_new(ctopology, coptions, &handle, &cerr), cerr); err != nil {
		return nil, err
	}
	return &Host{handle: newHandle(handle, "host")}, nil
}

// Close frees the host. An Engine opened on it keeps it alive until the
// engine is closed. Calling Close again does nothing.
func (h *Host) Close() error {
	if h == nil {
		return nil
	}
	h.handle.close(func(handle *C.pcipass_host) { C.pcipass_host_close(handle) })
	return nil
}

func (h *Host) use(f func(*C.pcipass_host) error) error {
	if h == nil {
		return nilError("host")
	}
	return h.handle.use(f)
}

// Scan reads the PCI device graph of the host. Reads only.
func (h *Host) Scan() (*Graph, error) {
	var graph *C.pcipass_graph
	err := h.use(func(handle *C.pcipass_host) error {
		var cerr *C.pcipass_error
		return check(C.pcipass_graph_scan(handle, &graph, &cerr), cerr)
	})
	if err != nil {
		return nil, err
	}
	return &Graph{handle: newHandle(graph, "graph")}, nil
}

// FaultMatch selects the operations a fault acts on; every set field must match.
type FaultMatch struct {
	// Path is an fnmatch(3) glob on the path as written ("sys/bus/pci/drivers/*/bind").
	Path   string `json:"path,omitempty"`
	Device string `json:"device,omitempty"`
	// Kind is a write kind: bind, unbind, driver_override, load_module, ...
	Kind   string `json:"kind,omitempty"`
	Driver string `json:"driver,omitempty"`
	// Nth acts only on the Nth matching operation (from 1); 0 on every one.
	Nth uint32 `json:"nth,omitempty"`
}

// Fault is an injected failure or side effect of the simulated kernel.
type Fault struct {
	Match FaultMatch `json:"match"`
	// Action is fail (the default), block, delay, reattach_after_unbind,
	// unload_module, vanish, probe_attaches_nothing or probe_later.
	Action string `json:"action,omitempty"`
	// Timing is before (the default: the operation does not happen) or after.
	Timing string `json:"timing,omitempty"`
	// Errno is what a failing operation returns, as a number or a name such
	// as "EBUSY" (json.Number, int or string).
	Errno interface{} `json:"errno,omitempty"`
	// DelayMicroseconds is the time a delay fault takes, or after which a
	// probe_later fault runs the probe.
	DelayMicroseconds int64 `json:"delay_us,omitempty"`
	// Name is the driver of reattach_after_unbind or the module of unload_module.
	Name string `json:"name,omitempty"`
}

// FaultID identifies an armed fault.
type FaultID uint32

// SimDevice is everything a write can change on one simulated device.
// Nil pointers are unset values.
type SimDevice struct {
	Address          string   `json:"address"`
	Driver           *string  `json:"driver"`
	DriverOverride   *string  `json:"driver_override"`
	NumVFs           *uint32  `json:"num_vfs"`
	DriversAutoprobe *bool    `json:"drivers_autoprobe"`
	ResetMethods     []string `json:"reset_methods"`
}

// Holder is a process that holds a device node open.
type Holder struct {
	PID     int32  `json:"pid"`
	Command string `json:"command"`
}

// SimState is the whole mutable state of a simulated kernel.
type SimState struct {
	Devices    []SimDevice         `json:"devices"`
	DynamicIDs map[string][]string `json:"dynamic_ids"`
	Modules    []string            `json:"modules"`
	VFIONodes  []uint32            `json:"vfio_nodes"`
	Holders    map[string][]Holder `json:"holders"`
}

// Device returns the state of the device at address, or nil.
func (s *SimState) Device(address string) *SimDevice {
	for i := range s.Devices {
		if s.Devices[i].Address == address {
			return &s.Devices[i]
		}
	}
	return nil
}

// LogEntry is one operation of the simulated kernel, in decision order.
type LogEntry struct {
	Sequence   uint64  `json:"sequence"`
	Kind       string  `json:"kind"`
	Path       string  `json:"path"`
	Value      string  `json:"value"`
	Device     *string `json:"device"`
	Errno      int32   `json:"errno"`
	ErrnoName  *string `json:"errno_name"`
	Rule       string  `json:"rule"`
	Fault      FaultID `json:"fault"`
	SideEffect bool    `json:"side_effect"`
}

// SimInject arms a fault and returns its id. Changes no kernel state.
func (h *Host) SimInject(fault Fault) (FaultID, error) {
	document := struct {
		Schema string `json:"schema"`
		Fault
	}{"pcipass.fault/v1", fault}
	cfault, err := cDocument(document)
	if err != nil {
		return 0, err
	}
	defer free(cfault)

	var id C.uint32_t
	err = h.use(func(handle *C.pcipass_host) error {
		var cerr *C.pcipass_error
		return check(C.pcipass_sim_inject(handle, cfault, &id, &cerr), cerr)
	})
	return FaultID(id), err
}

// SimRemoveFault disarms a fault and releases the writes it blocks.
func (h *Host) SimRemoveFault(id FaultID) error {
	return h.use(func(handle *C.pcipass_host) error {
		var cerr *C.pcipass_error
		return check(C.pcipass_sim_remove_fault(handle, C.uint32_t(id), &cerr), cerr)
	})
}

// SimReleaseFault releases the writes a block fault holds; call it from
// another goroutine while a write waits.
func (h *Host) SimReleaseFault(id FaultID) error {
	return h.use(func(handle *C.pcipass_host) error {
		var cerr *C.pcipass_error
		return check(C.pcipass_sim_release_fault(handle, C.uint32_t(id), &cerr), cerr)
	})
}

// SimClearFaults disarms every fault and releases every blocked write.
func (h *Host) SimClearFaults() error {
	return h.use(func(handle *C.pcipass_host) error {
		var cerr *C.pcipass_error
		return check(C.pcipass_sim_clear_faults(handle, &cerr), cerr)
	})
}

// SimFaultHits returns how many operations the fault has acted on.
func (h *Host) SimFaultHits(id FaultID) (uint32, error) {
	var hits C.uint32_t
	err := h.use(func(handle *C.pcipass_host) error {
		var cerr *C.pcipass_error
		return check(C.pcipass_sim_fault_hits(handle, C.uint32_t(id), &hits, &cerr), cerr)
	})
	return uint32(hits), err
}

// simString calls a pcipass_sim_* function that returns a string.
func (h *Host) simString(call func(*C.pcipass_host, **C.char, **C.pcipass_error) C.int) ([]byte, error) {
	var text []byte
	err := h.use(func(handle *C.pcipass_host) error {
		var out *C.char
		var cerr *C.pcipass_error
		if err := check(call(handle, &out, &cerr), cerr); err != nil {
			return err
		}
		text = takeString(out)
		return nil
	})
	return text, err
}

// SimStateJSON returns the "pcipass.sim-state/v1" document. Equal states
// give byte-identical documents. Reads only.
func (h *Host) SimStateJSON() ([]byte, error) {
	return h.simString(func(handle *C.pcipass_host, out **C.char, cerr **C.pcipass_error) C.int {
		return C.pcipass_sim_state(handle, out, cerr)
	})
}

// SimState returns everything a write can change. Reads only.
func (h *Host) SimState() (*SimState, error) {
	text, err := h.SimStateJSON()
	if err != nil {
		return nil, err
	}
	var state SimState
	return &state, decode(text, &state)
}

// SimLog returns every operation so far, oldest first. Reads only.
func (h *Host) SimLog() ([]LogEntry, error) {
	text, err := h.simString(func(handle *C.pcipass_host, out **C.char, cerr **C.pcipass_error) C.int {
		return C.pcipass_sim_log(handle, out, cerr)
	})
	if err != nil {
		return nil, err
	}
	var log struct {
		Entries []LogEntry `json:"entries"`
	}
	return log.Entries, decode(text, &log)
}

// SimTopology returns the current state as a "pcipass.topology/v1"
// document, which NewSim accepts. Reads only.
func (h *Host) SimTopology() ([]byte, error) {
	return h.simString(func(handle *C.pcipass_host, out **C.char, cerr **C.pcipass_error) C.int {
		return C.pcipass_sim_to_topology(handle, out, cerr)
	})
}

// SimMaterialize writes the current state as a kernel-shaped tree beneath
// dir, which must be empty or absent; OpenLive(dir) can then read it.
func (h *Host) SimMaterialize(dir string) error {
	cdir, err := cString("dir", dir)
	if err != nil {
		return err
	}
	defer free(cdir)
	return h.use(func(handle *C.pcipass_host) error {
		var cerr *C.pcipass_error
		return check(C.pcipass_sim_materialize(handle, cdir, &cerr), cerr)
	})
}

// SimOpenNode registers process pid as holding path ("dev/vfio/N") open,
// as QEMU would.
func (h *Host) SimOpenNode(path string, pid int32, command string) error {
	cpath, err := cString("path", path)
	if err != nil {
		return err
	}
	defer free(cpath)
	ccommand, err := cString("command", command)
	if err != nil {
		return err
	}
	defer free(ccommand)
	return h.use(func(handle *C.pcipass_host) error {
		var cerr *C.pcipass_error
		return check(C.pcipass_sim_open_node(handle, cpath, C.int32_t(pid), ccommand, &cerr), cerr)
	})
}

// SimCloseNode removes pid's hold on path.
func (h *Host) SimCloseNode(path string, pid int32) error {
	cpath, err := cString("path", path)
	if err != nil {
		return err
	}
	defer free(cpath)
	return h.use(func(handle *C.pcipass_host) error {
		var cerr *C.pcipass_error
		return check(C.pcipass_sim_close_node(handle, cpath, C.int32_t(pid), &cerr), cerr)
	})
}

// SimUnloadModule unloads a module as rmmod would; its devices are left
// without a driver.
func (h *Host) SimUnloadModule(module string) error {
	cmodule, err := cString("module", module)
	if err != nil {
		return err
	}
	defer free(cmodule)
	return h.use(func(handle *C.pcipass_host) error {
		var cerr *C.pcipass_error
		return check(C.pcipass_sim_unload_module(handle, cmodule, &cerr), cerr)
	})
}

// Graph is the PCI device graph of a host at one moment. It is immutable
// and safe for concurrent use.
type Graph struct {
	handle handle[*C.pcipass_graph]
}

// Close frees the graph. Calling Close again does nothing.
func (g *Graph) Close() error {
	if g == nil {
		return nil
	}
	g.handle.close(func(handle *C.pcipass_graph) { C.pcipass_graph_free(handle) })
	return nil
}

func (g *Graph) use(f func(*C.pcipass_graph) error) error {
	if g == nil {
		return nilError("graph")
	}
	return g.handle.use(f)
}

// JSON returns the "pcipass.graph/v1" document.
func (g *Graph) JSON() ([]byte, error) {
	var text []byte
	err := g.use(func(handle *C.pcipass_graph) error {
		var out *C.char
		var cerr *C.pcipass_error
		if err := check(C.pcipass_graph_to_json(handle, &out, &cerr), cerr); err != nil {
			return err
		}
		text = takeString(out)
		return nil
	})
	return text, err
}

// BuildObjects builds the Kubernetes and libvirt objects around a device
// of the graph from a "pcipass.objects-request/v1" request and returns the
// "pcipass.objects/v1" document.
func (g *Graph) BuildObjects(request ObjectsRequest) ([]byte, error) {
	document := struct {
		Schema string `json:"schema"`
		ObjectsRequest
	}{"pcipass.objects-request/v1", request}
	crequest, err := cDocument(document)
	if err != nil {
		return nil, err
	}
	defer free(crequest)

	var text []byte
	err = g.use(func(handle *C.pcipass_graph) error {
		var out *C.char
		var cerr *C.pcipass_error
		if err := check(C.pcipass_objects_build(handle, crequest, &out, &cerr), cerr); err != nil {
			return err
		}
		text = takeString(out)
		return nil
	})
	return text, err
}

// ClaimProblem is one reason a claim would not work on this node.
type ClaimProblem struct {
	Reason  string `json:"reason"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Device  string `json:"device"`
	// Fix is the exact owner reference entry to add, when that is the problem.
	Fix json.RawMessage `json:"fix,omitempty"`
}

// ClaimCheck is the report of ValidateClaim.
type ClaimCheck struct {
	Valid    bool           `json:"valid"`
	Problems []ClaimProblem `json:"problems"`
}

// ValidateClaim checks a PCIDeviceClaim offline against the graph of node.
// pcidevice (may be nil) is the owning PCIDevice, whose uid and identity
// are then checked too. A claim with problems is a report, not an error.
func (g *Graph) ValidateClaim(claim []byte, node string, pcidevice []byte) (*ClaimCheck, error) {
	cclaim, err := cString("claim", string(claim))
	if err != nil {
		return nil, err
	}
	defer free(cclaim)
	cnode, err := cString("node", node)
	if err != nil {
		return nil, err
	}
	defer free(cnode)
	var cpcidevice *C.char
	if pcidevice != nil {
		if cpcidevice, err = cString("pcidevice", string(pcidevice)); err != nil {
			return nil, err
		}
		defer free(cpcidevice)
	}

	var text []byte
	err = g.use(func(handle *C.pcipass_graph) error {
		var out *C.char
		var cerr *C.pcipass_error
		status := C.pcipass_claim_validate(handle, cclaim, cnode, cpcidevice, &out, &cerr)
		if err := check(status, cerr); err != nil {
			return err
		}
		text = takeString(out)
		return nil
	})
	if err != nil {
		return nil, err
	}
	var report ClaimCheck
	return &report, decode(text, &report)
}
