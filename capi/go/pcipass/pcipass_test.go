// SPDX-License-Identifier: Apache-2.0

package pcipass

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	gpu  = "0000:01:00.0"
	xhci = "0000:01:00.2"
)

var gpuGroup = []string{"0000:01:00.0", "0000:01:00.1", "0000:01:00.2", "0000:01:00.3"}

// fast keeps a test that goes wrong from waiting for the default deadlines.
var fast = &RequestOptions{Deadlines: &Deadlines{Write: 2 * time.Second, Bind: 2 * time.Second,
	Lock: 2 * time.Second}}

func gpuRequest(owner string) Request {
	return Request{Devices: Devices(gpu), Owner: owner, Options: fast}
}

// newSim returns the simulated GPU workstation and an engine on a
// temporary state directory, both closed when the test ends.
func newSim(t *testing.T) (*Host, *Engine) {
	t.Helper()
	topology, err := os.ReadFile("../../../tests/topologies/gpu-workstation.json")
	if err != nil {
		t.Fatal(err)
	}
	host, err := NewSim(topology, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Close() })

	engine, err := OpenEngine(host, filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close() })
	return host, engine
}

func stateJSON(t *testing.T, host *Host) []byte {
	t.Helper()
	state, err := host.SimStateJSON()
	if err != nil {
		t.Fatal(err)
	}
	return state
}

func binding(t *testing.T, host *Host, address string) (driver, override string) {
	t.Helper()
	state, err := host.SimState()
	if err != nil {
		t.Fatal(err)
	}
	device := state.Device(address)
	if device == nil {
		t.Fatalf("no device %s in the simulated state", address)
	}
	if device.Driver != nil {
		driver = *device.Driver
	}
	if device.DriverOverride != nil {
		override = *device.DriverOverride
	}
	return driver, override
}

var tektonPCIDevice = []byte(`{"apiVersion": "devices.harvesterhci.io/v1beta1", "kind": "PCIDevice",
	"metadata": {"name": "tekton28a-0000c1000", "uid": "cb439de7-3145-4b0f-a64e-f34a4dec2059"},
	"status": {"address": "0000:c1:00.0", "nodeName": "tekton28a", "vendorId": "10de",
	"deviceId": "24fa", "resourceName": "nvidia.com/GA104_RTX_A4500_EMBEDDED_GPU"}}`)

type ownerReference struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	UID        string `json:"uid"`
}

type claimObject struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name            string           `json:"name"`
		OwnerReferences []ownerReference `json:"ownerReferences"`
	} `json:"metadata"`
	Spec struct {
		Address  string `json:"address"`
		NodeName string `json:"nodeName"`
	} `json:"spec"`
}

// S20: the claim has exactly one owner reference; without a uid there is no claim.
func TestS20ClaimHasOneOwnerReference(t *testing.T) {
	text, err := ClaimFromPCIDevice(tektonPCIDevice, nil)
	if err != nil {
		t.Fatal(err)
	}
	var claim claimObject
	if err := json.Unmarshal(text, &claim); err != nil {
		t.Fatal(err)
	}

	want := []ownerReference{{
		APIVersion: "devices.harvesterhci.io/v1beta1",
		Kind:       "PCIDevice",
		Name:       "tekton28a-0000c1000",
		UID:        "cb439de7-3145-4b0f-a64e-f34a4dec2059",
	}}
	if !reflect.DeepEqual(claim.Metadata.OwnerReferences, want) {
		t.Errorf("owner references %+v", claim.Metadata.OwnerReferences)
	}
	if claim.Kind != "PCIDeviceClaim" || claim.Metadata.Name != "tekton28a-0000c1000" ||
		claim.Spec.Address != "0000:c1:00.0" || claim.Spec.NodeName != "tekton28a" {
		t.Errorf("claim %s", text)
	}
}

func TestS20NoUIDNoClaim(t *testing.T) {
	withoutUID := bytes.Replace(tektonPCIDevice,
		[]byte(`, "uid": "cb439de7-3145-4b0f-a64e-f34a4dec2059"`), nil, 1)

	claim, err := ClaimFromPCIDevice(withoutUID, nil)

	if claim != nil {
		t.Errorf("a claim without uid: %s", claim)
	}
	if !errors.Is(err, ErrMissingOwnerReference) {
		t.Fatalf("error %v, want ErrMissingOwnerReference", err)
	}
	var pcipassErr *Error
	if !errors.As(err, &pcipassErr) {
		t.Fatalf("error %T is not *Error", err)
	}
	if pcipassErr.Device != "0000:c1:00.0" || pcipassErr.Errno != 0 ||
		!strings.Contains(pcipassErr.Message, "has no metadata.uid") {
		t.Errorf("error %+v", pcipassErr)
	}
}

func TestS20ValidationSaysWhatToAdd(t *testing.T) {
	host, _ := newSim(t)
	graph, err := host.Scan()
	if err != nil {
		t.Fatal(err)
	}
	defer graph.Close()

	claim := []byte(`{"apiVersion": "devices.harvesterhci.io/v1beta1", "kind": "PCIDeviceClaim",
		"metadata": {"name": "ws1-000001000"},
		"spec": {"address": "0000:01:00.0", "nodeName": "ws1", "userName": ""}}`)
	pcidevice := []byte(`{"metadata": {"name": "ws1-000001000", "uid": "uid-gpu"},
		"status": {"address": "0000:01:00.0", "nodeName": "ws1", "vendorId": "10de",
		"deviceId": "1f02"}}`)

	report, err := graph.ValidateClaim(claim, "ws1", pcidevice)
	if err != nil {
		t.Fatal(err)
	}
	if report.Valid || len(report.Problems) == 0 {
		t.Fatalf("report %+v", report)
	}
	problem := report.Problems[0]
	if problem.Reason != "missing_owner_reference" || problem.Device != gpu {
		t.Errorf("first problem %+v", problem)
	}
	var fix ownerReference
	if err := json.Unmarshal(problem.Fix, &fix); err != nil {
		t.Fatal(err)
	}
	want := ownerReference{"devices.harvesterhci.io/v1beta1", "PCIDevice", "ws1-000001000", "uid-gpu"}
	if fix != want {
		t.Errorf("fix %+v, want %+v", fix, want)
	}
	if !strings.Contains(problem.Message, "as the first entry of metadata.ownerReferences") {
		t.Errorf("message %q", problem.Message)
	}
}

func TestBindAndReleaseGPUGroup(t *testing.T) {
	host, engine := newSim(t)
	initial := stateJSON(t, host)

	var steps []Step
	result, err := engine.Bind(gpuRequest("vm-42"), func(step Step) { steps = append(steps, step) })
	if err != nil {
		t.Fatal(err)
	}
	if result.Outcome != "committed" || !reflect.DeepEqual(result.Groups, []uint32{7}) {
		t.Errorf("result %+v", result)
	}
	for _, address := range gpuGroup {
		if driver, override := binding(t, host, address); driver != "vfio-pci" || override != "vfio-pci" {
			t.Errorf("%s on %q with override %q", address, driver, override)
		}
	}
	started, done := 0, 0
	for _, step := range steps {
		switch step.Status {
		case "started":
			started++
		case "done":
			done++
		}
	}
	if started != result.Writes || done != result.Writes {
		t.Errorf("%d started and %d done steps for %d writes", started, done, result.Writes)
	}
	ownerships, err := engine.Ownerships()
	if err != nil || len(ownerships) != len(gpuGroup) || ownerships[0].Owner != "vm-42" {
		t.Errorf("ownerships %+v, %v", ownerships, err)
	}

	result, err = engine.Release(gpuRequest("vm-42"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if result.Outcome != "committed" {
		t.Errorf("release outcome %s", result.Outcome)
	}
	if after := stateJSON(t, host); !bytes.Equal(after, initial) {
		t.Errorf("state after release\n%s\ndiffers from the initial\n%s", after, initial)
	}
}

// EBUSY on the xHCI function's bind to vfio-pci: the error names it, and nothing moved.
func TestRollbackAfterInjectedBusy(t *testing.T) {
	host, engine := newSim(t)
	initial := stateJSON(t, host)
	fault, err := host.SimInject(Fault{
		Match: FaultMatch{Device: xhci, Path: "sys/bus/pci/drivers/vfio-pci/bind"},
		Errno: "EBUSY",
	})
	if err != nil {
		t.Fatal(err)
	}

	var steps []Step
	result, err := engine.Bind(gpuRequest("vm-42"), func(step Step) { steps = append(steps, step) })

	if result != nil {
		t.Errorf("a result for a failed bind: %+v", result)
	}
	if !errors.Is(err, ErrBindFailed) || !errors.Is(err, syscall.EBUSY) {
		t.Fatalf("error %v, want ErrBindFailed with EBUSY", err)
	}
	if errors.Is(err, ErrBusy) {
		t.Errorf("error %v matches ErrBusy", err)
	}
	var pcipassErr *Error
	errors.As(err, &pcipassErr)
	if pcipassErr.Device != xhci || pcipassErr.Path != "sys/bus/pci/drivers/vfio-pci/bind" ||
		pcipassErr.Step != "bind "+xhci+" to vfio-pci" ||
		!strings.Contains(pcipassErr.Message, "rolled back") {
		t.Errorf("error %+v", pcipassErr)
	}
	if after := stateJSON(t, host); !bytes.Equal(after, initial) {
		t.Errorf("state after rollback\n%s\ndiffers from the initial\n%s", after, initial)
	}
	if hits, err := host.SimFaultHits(fault); err != nil || hits != 1 {
		t.Errorf("fault hits %d, %v", hits, err)
	}

	failed, undone := 0, 0
	for _, step := range steps {
		if step.Status == "failed" {
			failed++
			if step.Step.Device != xhci || step.Error == nil || step.Error.Errno != int32(syscall.EBUSY) {
				t.Errorf("failed step %+v", step)
			}
		}
		if step.Undo {
			undone++
		}
	}
	if failed != 1 || undone == 0 {
		t.Errorf("%d failed steps and %d undo steps", failed, undone)
	}

	log, err := host.SimLog()
	if err != nil {
		t.Fatal(err)
	}
	var faulted []string
	for _, entry := range log {
		if entry.Fault == fault && entry.ErrnoName != nil {
			faulted = append(faulted, *entry.ErrnoName)
		}
	}
	if !reflect.DeepEqual(faulted, []string{"EBUSY"}) {
		t.Errorf("faulted operations %v", faulted)
	}

	recovered, err := engine.Recover(nil, nil)
	if err != nil || recovered.Outcome != "no_change" || recovered.Writes != 0 {
		t.Errorf("recover %+v, %v", recovered, err)
	}
}

func TestReconcileThereAndBack(t *testing.T) {
	host, engine := newSim(t)
	initial := stateJSON(t, host)

	result, err := engine.Reconcile([]Desired{{Device: gpu, Owner: "vm-7"}}, fast, nil)
	if err != nil || result.Outcome != "committed" {
		t.Fatalf("reconcile %+v, %v", result, err)
	}
	if driver, _ := binding(t, host, xhci); driver != "vfio-pci" {
		t.Errorf("%s on %q", xhci, driver)
	}

	result, err = engine.Reconcile([]Desired{{Device: gpu, Owner: "vm-7", Release: true}}, fast, nil)
	if err != nil || result.Outcome != "committed" {
		t.Fatalf("reconcile release %+v, %v", result, err)
	}
	if after := stateJSON(t, host); !bytes.Equal(after, initial) {
		t.Errorf("state after reconcile\n%s\ndiffers from the initial\n%s", after, initial)
	}
}

func TestPlanAndRefusals(t *testing.T) {
	host, engine := newSim(t)

	plan, err := engine.Plan(OperationBind, gpuRequest("vm-42"))
	if err != nil {
		t.Fatal(err)
	}
	if plan.Blocked || len(plan.Members) != len(gpuGroup) {
		t.Errorf("plan %+v", plan)
	}
	for i, member := range plan.Members {
		if member.Address != gpuGroup[i] || member.Action != "move" {
			t.Errorf("member %+v", member)
		}
	}

	if _, err := engine.Plan(Operation(3), gpuRequest("vm-42")); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("operation 3: %v", err)
	}
	request := Request{Devices: []RequestedDevice{{Address: gpu, Expected: "10de:2204"}}, Options: fast}
	if _, err := engine.Bind(request, nil); !errors.Is(err, ErrIdentityMismatch) {
		t.Errorf("other identity: %v", err)
	}
	if _, err := engine.Bind(Request{Options: fast}, nil); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("no devices: %v", err)
	}

	if _, err := engine.Bind(gpuRequest("vm-42"), nil); err != nil {
		t.Fatal(err)
	}
	if err := host.SimOpenNode("dev/vfio/7", 4242, "qemu-system-x86"); err != nil {
		t.Fatal(err)
	}
	if _, err := engine.Release(gpuRequest("vm-42"), nil); !errors.Is(err, ErrDeviceInUse) {
		t.Errorf("release of a held group: %v", err)
	}
	if err := host.SimCloseNode("dev/vfio/7", 4242); err != nil {
		t.Fatal(err)
	}
	if _, err := engine.Bind(gpuRequest("vm-43"), nil); !errors.Is(err, ErrOwnedByOther) {
		t.Errorf("bind for another owner: %v", err)
	}
}

func TestStepCallbackPanicIsRaisedAfterTheCall(t *testing.T) {
	host, engine := newSim(t)

	defer func() {
		if recovered := recover(); recovered != "observer failed" {
			t.Errorf("recovered %v", recovered)
		}
		// The transaction itself ran to its end.
		if driver, _ := binding(t, host, gpu); driver != "vfio-pci" {
			t.Errorf("%s on %q", gpu, driver)
		}
	}()
	engine.Bind(gpuRequest("vm-42"), func(Step) { panic("observer failed") })
	t.Error("Bind returned without the panic")
}

func TestClosedHandles(t *testing.T) {
	host, engine := newSim(t)

	if err := host.Close(); err != nil {
		t.Fatal(err)
	}
	if err := host.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := host.SimState(); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("state of a closed host: %v", err)
	}
	// The engine keeps the simulated kernel alive.
	if plan, err := engine.Plan(OperationBind, gpuRequest("vm-42")); err != nil || plan.Blocked {
		t.Errorf("plan after the host closed: %+v, %v", plan, err)
	}
	engine.Close()
	if _, err := engine.Ownerships(); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("ownerships of a closed engine: %v", err)
	}
}

func TestSimRejectsMalformedInput(t *testing.T) {
	host, _ := newSim(t)

	if _, err := NewSim([]byte(`{"schema": `), nil); !errors.Is(err, ErrInvalidArgument) ||
		!strings.Contains(err.Error(), "line 1") {
		t.Errorf("truncated topology: %v", err)
	}
	if _, err := host.SimInject(Fault{Match: FaultMatch{Kind: "bnd"}, Errno: 16}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("unknown kind: %v", err)
	}
	if err := host.SimRemoveFault(12345); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown fault: %v", err)
	}

	tree := filepath.Join(t.TempDir(), "tree")
	if err := host.SimMaterialize(tree); err != nil {
		t.Fatal(err)
	}
	live, err := OpenLive(tree)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	if _, err := live.SimState(); !errors.Is(err, ErrInvalidArgument) ||
		!strings.Contains(err.Error(), "not a simulated kernel") {
		t.Errorf("state of a live host: %v", err)
	}
	graph, err := live.Scan()
	if err != nil {
		t.Fatal(err)
	}
	defer graph.Close()
	text, err := graph.JSON()
	if err != nil || !bytes.Contains(text, []byte(`"address":"0000:01:00.2"`)) {
		t.Errorf("graph of the materialized tree: %v", err)
	}
}

func TestLogSinkReceivesTransactionLines(t *testing.T) {
	_, engine := newSim(t)
	// The sink runs on pcipass's worker threads too.
	var mutex sync.Mutex
	categories := map[string]int{}
	sink := func(level LogLevel, category string, message string) {
		mutex.Lock()
		defer mutex.Unlock()
		categories[category]++
	}
	if err := SetLogSink(sink, LogDebug); err != nil {
		t.Fatal(err)
	}
	_, bindErr := engine.Bind(gpuRequest("vm-42"), nil)
	if err := SetLogSink(nil, LogInfo); err != nil {
		t.Fatal(err)
	}
	if bindErr != nil {
		t.Fatal(bindErr)
	}
	mutex.Lock()
	defer mutex.Unlock()
	if categories["Txn"] == 0 {
		t.Errorf("log lines per category %v", categories)
	}
}

func TestWatcherTimesOut(t *testing.T) {
	watcher, err := OpenWatcher(&WatchOptions{Subsystems: []string{"pci"}})
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close()

	if fd, err := watcher.Fd(); err != nil || fd < 0 {
		t.Errorf("fd %d, %v", fd, err)
	}
	// Another process may change a PCI device meanwhile; the event is then well formed.
	event, err := watcher.Next(20 * time.Millisecond)
	if err != nil || (event != nil && event.Subsystem != "pci") {
		t.Errorf("next %+v, %v", event, err)
	}
	if err := watcher.Run(20*time.Millisecond, func(Event) bool { return false }); err != nil {
		t.Error(err)
	}
	if _, err := OpenWatcher(&WatchOptions{Source: "netlink"}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("unknown source: %v", err)
	}
}
