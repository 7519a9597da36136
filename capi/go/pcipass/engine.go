// SPDX-License-Identifier: Apache-2.0

package pcipass

// #cgo pkg-config: pcipass
// #include <stdlib.h>
// #include "trampoline.h"
import "C"

import (
	"encoding/json"
	"runtime/cgo"
	"time"
)

// Deadlines bound how long a transaction waits for the kernel. Zero fields
// keep pcipass's defaults: 10 s per write and bind, 5 ms between polls and
// 30 s for the lock.
type Deadlines struct {
	Write        time.Duration
	Bind         time.Duration
	PollInterval time.Duration
	Lock         time.Duration
}

// MarshalJSON writes the deadlines in milliseconds, leaving out zero fields.
func (d Deadlines) MarshalJSON() ([]byte, error) {
	fields := map[string]int64{}
	add := func(name string, value time.Duration) {
		if value != 0 {
			fields[name] = value.Milliseconds()
		}
	}
	add("write_ms", d.Write)
	add("bind_ms", d.Bind)
	add("poll_interval_ms", d.PollInterval)
	add("lock_ms", d.Lock)
	return json.Marshal(fields)
}

// RequestOptions are the options of a request or a desired set.
type RequestOptions struct {
	AllowModuleLoad    bool       `json:"allow_module_load,omitempty"`
	ReleaseFramebuffer bool       `json:"release_framebuffer,omitempty"`
	RecreateVFs        bool       `json:"recreate_vfs,omitempty"`
	ResetMethod        string     `json:"reset_method,omitempty"`
	Module             string     `json:"module,omitempty"`
	Deadlines          *Deadlines `json:"deadlines,omitempty"`
}

// RequestedDevice is a device of a request; with Expected ("10de:1f02")
// the request is rejected when the address holds another device.
type RequestedDevice struct {
	Address  string `json:"address"`
	Expected string `json:"expected,omitempty"`
}

// Devices returns the requested devices for PCI addresses.
func Devices(addresses ...string) []RequestedDevice {
	devices := make([]RequestedDevice, len(addresses))
	for i, address := range addresses {
		devices[i].Address = address
	}
	return devices
}

// Request is a request to move devices, with their IOMMU groups, to Driver
// (default vfio-pci) for Owner (default "pcipass").
type Request struct {
	Devices []RequestedDevice `json:"devices"`
	Driver  string            `json:"driver,omitempty"`
	Owner   string            `json:"owner,omitempty"`
	Options *RequestOptions   `json:"options,omitempty"`
}

// Desired is one entry of a desired set for Engine.Reconcile: the device on
// Driver (default vfio-pci) for Owner, or with Release its state before the
// claim.
type Desired struct {
	Device  string
	Driver  string
	Owner   string
	Release bool
}

// MarshalJSON writes a released entry's driver as null, as pcipass expects.
func (d Desired) MarshalJSON() ([]byte, error) {
	fields := map[string]interface{}{"device": d.Device}
	if d.Release {
		fields["driver"] = nil
	} else if d.Driver != "" {
		fields["driver"] = d.Driver
	}
	if d.Owner != "" {
		fields["owner"] = d.Owner
	}
	return json.Marshal(fields)
}

// StepAction is one write to the host.
type StepAction struct {
	Kind        string `json:"kind"`
	Device      string `json:"device"`
	Path        string `json:"path"`
	Value       string `json:"value"`
	Driver      string `json:"driver"`
	Description string `json:"description"`
}

// ErrorRecord is an error as a pcipass document records it.
type ErrorRecord struct {
	Code    string `json:"code"`
	Errno   int32  `json:"errno"`
	Device  string `json:"device"`
	Path    string `json:"path"`
	Step    string `json:"step"`
	Message string `json:"message"`
}

// Step is a step of a transaction as it runs; Undo marks the steps of a
// rollback or a recovery. Status is started, done, skipped, failed or
// in_doubt.
type Step struct {
	Seq    int          `json:"seq"`
	Undo   bool         `json:"undo"`
	Status string       `json:"status"`
	Step   StepAction   `json:"step"`
	Error  *ErrorRecord `json:"error"`
}

// BindingState is a device's driver and driver_override, nil when unset.
type BindingState struct {
	Driver   *string `json:"driver"`
	Override *string `json:"override"`
}

// Finding is a preflight result; a blocking one rejects the request.
type Finding struct {
	Code     string `json:"code"`
	Device   string `json:"device"`
	Message  string `json:"message"`
	Blocking bool   `json:"blocking"`
}

// DeviceReport is a device of a transaction before it and at its end.
type DeviceReport struct {
	Device  string       `json:"device"`
	Before  BindingState `json:"before"`
	After   BindingState `json:"after"`
	InDoubt bool         `json:"in_doubt"`
}

// Result is the report of a finished transaction (a "pcipass.result/v1"
// document). Outcome is committed or no_change.
type Result struct {
	Operation   string         `json:"operation"`
	Transaction string         `json:"transaction"`
	Outcome     string         `json:"outcome"`
	Driver      string         `json:"driver"`
	Owner       string         `json:"owner"`
	Writes      int            `json:"writes"`
	Groups      []uint32       `json:"groups"`
	Findings    []Finding      `json:"findings"`
	Steps       []Step         `json:"steps"`
	Devices     []DeviceReport `json:"devices"`
}

// PlanMember is a function of the group closure, before and after the plan.
// Action is move, keep, stay_bridge, stay_owner_aware or vanish.
type PlanMember struct {
	Address   string       `json:"address"`
	Group     *uint32      `json:"group"`
	Identity  string       `json:"identity"`
	Requested bool         `json:"requested"`
	Action    string       `json:"action"`
	Before    BindingState `json:"before"`
	After     BindingState `json:"after"`
}

// PlannedStep is a step of a plan with the step that undoes it (nil for none).
type PlannedStep struct {
	StepAction
	Inverse *StepAction `json:"inverse"`
}

// Plan is the steps and findings of a bind or release made now (a
// "pcipass.plan/v1" document).
type Plan struct {
	Operation string        `json:"operation"`
	Driver    string        `json:"driver"`
	Owner     string        `json:"owner"`
	Blocked   bool          `json:"blocked"`
	Groups    []uint32      `json:"groups"`
	Members   []PlanMember  `json:"members"`
	Findings  []Finding     `json:"findings"`
	Steps     []PlannedStep `json:"steps"`
}

// Ownership records that an owner holds a device, from bind to release.
type Ownership struct {
	Device         string       `json:"device"`
	Owner          string       `json:"owner"`
	Driver         string       `json:"driver"`
	Group          *uint32      `json:"group"`
	Identity       *string      `json:"identity"`
	Original       BindingState `json:"original"`
	OriginalNumVFs *uint32      `json:"original_num_vfs"`
	Framebuffer    string       `json:"framebuffer"`
	Transaction    string       `json:"transaction"`
}

// Engine runs transactions against one host with one state directory,
// which holds the host-wide lock, the journal and the ownership records.
// It keeps its host alive, so the Host may be closed first. It is safe for
// concurrent use: calls that change the host are serialized across
// goroutines and, through flock(2), across processes.
//
// On failure the transaction methods return an *Error; after a rollback
// its Code, Errno, Device, Path and Step are those of the failing step.
// onStep (may be nil) receives each step once as "started" and once with
// its result, on the calling goroutine. It may read the host but must not
// call the engine.
type Engine struct {
	handle handle[*C.pcipass_engine]
}

// OpenEngine opens an engine on host with the state directory stateDir
// ("" for the configured default, /run/pcipass), creating it with mode
// 0700 when missing. Writes nothing to the host. A simulated host needs an
// explicit stateDir, because a journal it leaves in the default would be
// recovered on the real host: "" gives an error matching ErrInvalidArgument.
func OpenEngine(host *Host, stateDir string) (*Engine, error) {
	var cdir *C.char
	if stateDir != "" {
		var err error
		if cdir, err = cString("stateDir", stateDir); err != nil {
			return nil, err
		}
		defer free(cdir)
	}
	var handle *C.pcipass_engine
	err := host.use(func(hostHandle *C.pcipass_host) error {
		var cerr *C.pcipass_error
		return check(C.pcipass_engine_open(hostHandle, cdir, &handle, &cerr), cerr)
	})
	if err != nil {
		return nil, err
	}
	return &Engine{handle: newHandle(handle, "engine")}, nil
}

// Close frees the engine. Calling Close again does nothing.
func (e *Engine) Close() error {
	if e == nil {
		return nil
	}
	e.handle.close(func(handle *C.pcipass_engine) { C.pcipass_engine_close(handle) })
	return nil
}

func (e *Engine) use(f func(*C.pcipass_engine) error) error {
	if e == nil {
		return nilError("engine")
	}
	return e.handle.use(f)
}

func requestDocument(request Request) interface{} {
	return struct {
		Schema string `json:"schema"`
		Request
	}{"pcipass.request/v1", request}
}

// Plan returns what Bind (OperationBind) or Release (OperationRelease)
// would do now. A blocked plan has Blocked set and its findings; it is not
// an error. Reads only.
func (e *Engine) Plan(operation Operation, request Request) (*Plan, error) {
	crequest, err := cDocument(requestDocument(request))
	if err != nil {
		return nil, err
	}
	defer free(crequest)

	var text []byte
	err = e.use(func(handle *C.pcipass_engine) error {
		var out *C.char
		var cerr *C.pcipass_error
		status := C.pcipass_engine_plan(handle, C.int32_t(operation), crequest, &out, &cerr)
		if err := check(status, cerr); err != nil {
			return err
		}
		text = takeString(out)
		return nil
	})
	if err != nil {
		return nil, err
	}
	var plan Plan
	return &plan, decode(text, &plan)
}

// transact runs one transaction function with input and the step callback.
func (e *Engine) transact(function C.pcipass_go_transaction_fn, input interface{},
	onStep func(Step)) (*Result, error) {
	cinput, err := cDocument(input)
	if err != nil {
		return nil, err
	}
	defer free(cinput)

	var userdata cgo.Handle
	state := &callbackState{step: onStep}
	if onStep != nil {
		userdata = cgo.NewHandle(state)
		defer userdata.Delete()
	}

	var text []byte
	err = e.use(func(engine *C.pcipass_engine) error {
		var out *C.char
		var cerr *C.pcipass_error
		status := C.pcipass_go_transact(function, engine, cinput, C.uintptr_t(userdata), &out, &cerr)
		if err := check(status, cerr); err != nil {
			return err
		}
		text = takeString(out)
		return nil
	})
	if stepErr := state.finish(); stepErr != nil && err == nil {
		err = stepErr
	}
	if err != nil {
		return nil, err
	}
	var result Result
	return &result, decode(text, &result)
}

// Bind moves the requested devices, with every endpoint of their IOMMU
// groups, to the request's driver for its owner, as one transaction.
// Writes to the host.
func (e *Engine) Bind(request Request, onStep func(Step)) (*Result, error) {
	return e.transact(C.pcipass_go_transaction_fn(C.pcipass_engine_bind),
		requestDocument(request), onStep)
}

// Release returns the requested devices, with the rest of their IOMMU
// groups, to their state before the claim. Writes to the host.
func (e *Engine) Release(request Request, onStep func(Step)) (*Result, error) {
	return e.transact(C.pcipass_go_transaction_fn(C.pcipass_engine_release),
		requestDocument(request), onStep)
}

// Recover finishes a transaction that a crash interrupted; the outcome is
// no_change when there is none. deadlines may be nil. Writes to the host.
func (e *Engine) Recover(deadlines *Deadlines, onStep func(Step)) (*Result, error) {
	var options interface{}
	if deadlines != nil {
		options = map[string]interface{}{
			"schema":    "pcipass.recover-options/v1",
			"deadlines": deadlines,
		}
	}
	return e.transact(C.pcipass_go_transaction_fn(C.pcipass_engine_recover), options, onStep)
}

// Reconcile brings the host to a desired set with the fewest writes;
// devices not listed are left alone. options may be nil. Writes to the
// host.
func (e *Engine) Reconcile(desired []Desired, options *RequestOptions,
	onStep func(Step)) (*Result, error) {
	document := struct {
		Schema  string          `json:"schema"`
		Desired []Desired       `json:"desired"`
		Options *RequestOptions `json:"options,omitempty"`
	}{"pcipass.desired/v1", desired, options}
	if document.Desired == nil {
		document.Desired = []Desired{}
	}
	return e.transact(C.pcipass_go_transaction_fn(C.pcipass_engine_reconcile), document, onStep)
}

// Ownerships returns the ownership records in force. Reads only.
func (e *Engine) Ownerships() ([]Ownership, error) {
	var text []byte
	err := e.use(func(handle *C.pcipass_engine) error {
		var out *C.char
		var cerr *C.pcipass_error
		if err := check(C.pcipass_engine_ownerships(handle, &out, &cerr), cerr); err != nil {
			return err
		}
		text = takeString(out)
		return nil
	})
	if err != nil {
		return nil, err
	}
	var document struct {
		Ownerships []Ownership `json:"ownerships"`
	}
	return document.Ownerships, decode(text, &document)
}
