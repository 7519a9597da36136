// SPDX-License-Identifier: Apache-2.0

package pcipass

// A file with //export may hold only declarations in its preamble; the
// C functions that call these are in trampoline.c.

// #cgo pkg-config: pcipass
// #include <stdint.h>
// #include <pcipass.h>
import "C"

import (
	"encoding/json"
	"runtime/cgo"
	"unsafe"
)

// callbackState carries a Go callback through C as a cgo.Handle, with
// what went wrong inside it: a panic cannot cross the C frames, so it is
// caught and raised again once the C call returns.
type callbackState struct {
	step     func(Step)
	event    func(Event) bool
	panicked interface{}
	err      error
}

func (state *callbackState) guard() {
	if recovered := recover(); recovered != nil {
		state.panicked = recovered
	}
}

// finish raises a panic from the callback again, or returns its decoding error.
func (state *callbackState) finish() error {
	if state.panicked != nil {
		panic(state.panicked)
	}
	return state.err
}

func stateOf(userdata unsafe.Pointer) *callbackState {
	return cgo.Handle(uintptr(userdata)).Value().(*callbackState)
}

//export pcipassGoStep
func pcipassGoStep(userdata unsafe.Pointer, stepJSON *C.char) {
	state := stateOf(userdata)
	if state.panicked != nil || state.err != nil {
		return
	}
	defer state.guard()

	var step Step
	if err := json.Unmarshal([]byte(C.GoString(stepJSON)), &step); err != nil {
		state.err = err
		return
	}
	state.step(step)
}

//export pcipassGoEvent
func pcipassGoEvent(userdata unsafe.Pointer, eventJSON *C.char) C.int {
	state := stateOf(userdata)
	defer state.guard()

	var event Event
	if err := json.Unmarshal([]byte(C.GoString(eventJSON)), &event); err != nil {
		state.err = err
		return 0
	}
	if state.event(event) {
		return 1
	}
	return 0
}

//export pcipassGoLog
func pcipassGoLog(userdata unsafe.Pointer, level C.int32_t, category C.int32_t, message *C.char) {
	sink := cgo.Handle(uintptr(userdata)).Value().(LogSink)
	sink(LogLevel(level), LogCategoryName(int32(category)), C.GoString(message))
}
