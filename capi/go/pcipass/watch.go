// SPDX-License-Identifier: Apache-2.0

package pcipass

// #cgo pkg-config: pcipass
// #include <stdlib.h>
// #include "trampoline.h"
import "C"

import (
	"math"
	"runtime/cgo"
	"time"
)

// Event is a kernel device event (a "pcipass.event/v1" document). Address
// is set for PCI events; Driver is the driver bound when the event was sent.
type Event struct {
	Action    string `json:"action"`
	Subsystem string `json:"subsystem"`
	Sysname   string `json:"sysname"`
	Address   string `json:"address"`
	Devtype   string `json:"devtype"`
	Driver    string `json:"driver"`
	Devpath   string `json:"devpath"`
	Seqnum    uint64 `json:"seqnum"`
}

// WatchOptions select the event stream; the zero value (or nil) watches
// the kernel's PCI and USB events.
type WatchOptions struct {
	// Source is "kernel" (raw uevents, the default) or "udev" (after
	// systemd-udevd ran its rules).
	Source string `json:"source,omitempty"`
	// Subsystems to report; nil reports "pci" and "usb".
	Subsystems []string `json:"subsystems,omitempty"`
	// ReceiveBufferSize in bytes; 0 keeps pcipass's 4 MiB.
	ReceiveBufferSize int `json:"receive_buffer_size,omitempty"`
}

// Watcher is a subscription to PCI and USB device events. Events from
// before OpenWatcher are not reported, and a simulated kernel sends none.
// Reads only. Use it from one goroutine at a time.
type Watcher struct {
	handle handle[*C.pcipass_watcher]
}

// OpenWatcher opens the event socket. options may be nil.
func OpenWatcher(options *WatchOptions) (*Watcher, error) {
	if versionError != nil {
		return nil, versionError
	}
	var coptions *C.char
	if options != nil {
		document := struct {
			Schema string `json:"schema"`
			WatchOptions
		}{"pcipass.watch-options/v1", *options}
		var err error
		if coptions, err = cDocument(document); err != nil {
			return nil, err
		}
		defer free(coptions)
	}

	var handle *C.pcipass_watcher
	var cerr *C.pcipass_error
	if err := check(C.pcipass_watcher_open(coptions, &handle, &cerr), cerr); err != nil {
		return nil, err
	}
	return &Watcher{handle: newHandle(handle, "watcher")}, nil
}

// Close frees the watcher. Calling Close again does nothing.
func (w *Watcher) Close() error {
	if w == nil {
		return nil
	}
	w.handle.close(func(handle *C.pcipass_watcher) { C.pcipass_watcher_close(handle) })
	return nil
}

func (w *Watcher) use(f func(*C.pcipass_watcher) error) error {
	if w == nil {
		return nilError("watcher")
	}
	return w.handle.useExclusive(f)
}

// milliseconds converts a timeout for pcipass: negative waits without a limit.
func milliseconds(timeout time.Duration) C.int32_t {
	if timeout < 0 {
		return -1
	}
	if timeout.Milliseconds() > math.MaxInt32 {
		return math.MaxInt32
	}
	return C.int32_t(timeout.Milliseconds())
}

// Fd returns a descriptor that polls readable when an event may be
// waiting; the watcher keeps owning it.
func (w *Watcher) Fd() (int, error) {
	var fd C.int32_t
	err := w.use(func(handle *C.pcipass_watcher) error {
		var cerr *C.pcipass_error
		return check(C.pcipass_watcher_fd(handle, &fd, &cerr), cerr)
	})
	return int(fd), err
}

// Next waits up to timeout (negative: no limit) for the next event; it
// returns nil and no error when the time passes first.
func (w *Watcher) Next(timeout time.Duration) (*Event, error) {
	var text []byte
	err := w.use(func(handle *C.pcipass_watcher) error {
		var out *C.char
		var cerr *C.pcipass_error
		status := C.pcipass_watcher_next(handle, milliseconds(timeout), &out, &cerr)
		if err := check(status, cerr); err != nil {
			return err
		}
		text = takeString(out)
		return nil
	})
	if err != nil || text == nil {
		return nil, err
	}
	var event Event
	return &event, decode(text, &event)
}

// Run calls onEvent for every event until it returns false or timeout
// (negative: no limit) passes.
func (w *Watcher) Run(timeout time.Duration, onEvent func(Event) bool) error {
	state := &callbackState{event: onEvent}
	userdata := cgo.NewHandle(state)
	defer userdata.Delete()

	err := w.use(func(watcher *C.pcipass_watcher) error {
		var cerr *C.pcipass_error
		status := C.pcipass_go_watch(watcher, milliseconds(timeout), C.uintptr_t(userdata), &cerr)
		return check(status, cerr)
	})
	if callbackErr := state.finish(); callbackErr != nil && err == nil {
		err = callbackErr
	}
	return err
}
