// SPDX-License-Identifier: Apache-2.0

package pcipass

// #cgo pkg-config: pcipass
// #include "trampoline.h"
import "C"

import (
	"runtime/cgo"
	"sync"
)

// LogSink receives one finished log line. It runs on whichever thread
// logs, including pcipass's worker threads, and must not call into
// pcipass.
type LogSink func(level LogLevel, category string, message string)

var logMutex sync.Mutex

// SetLogSink installs the process-wide log sink for lines at level and
// above, or removes it when sink is nil. The environment variable
// PCIPASS_LOG ("Txn:debug,Graph:info") overrides the level per category.
func SetLogSink(sink LogSink, level LogLevel) error {
	if versionError != nil {
		return versionError
	}
	logMutex.Lock()
	defer logMutex.Unlock()

	var userdata cgo.Handle
	if sink != nil {
		userdata = cgo.NewHandle(sink)
	}
	var cerr *C.pcipass_error
	status := C.pcipass_go_set_log_sink(C.uintptr_t(userdata), C.int32_t(level), &cerr)
	if err := check(status, cerr); err != nil {
		if userdata != 0 {
			userdata.Delete()
		}
		return err
	}

	// The handle of a replaced sink is never deleted: a line that another
	// thread was logging at the same moment may still reach that sink.
	return nil
}

// LogCategoryName returns "Host", "Graph", "Plan", "Txn", "Claim",
// "Watch", "Capi" or "Sim"; "" for other values.
func LogCategoryName(category int32) string {
	name := C.pcipass_log_category_name(C.int32_t(category))
	if name == nil {
		return ""
	}
	return C.GoString(name)
}
