// SPDX-License-Identifier: Apache-2.0

package pcipass

// #cgo pkg-config: pcipass
// #include <pcipass.h>
import "C"

import (
	"fmt"
	"strings"
	"syscall"
)

// String returns the stable lower-case name of the code ("busy"), as JSON
// documents spell it.
func (code Code) String() string {
	return C.GoString(C.pcipass_status_name(C.int32_t(code)))
}

// Error makes a Code usable as a sentinel error for errors.Is.
func (code Code) Error() string {
	return "pcipass: " + code.String()
}

// Sentinel errors, one per code: errors.Is(err, pcipass.ErrBusy).
var (
	ErrInvalidArgument       error = CodeInvalidArgument
	ErrNotFound              error = CodeNotFound
	ErrBusy                  error = CodeBusy
	ErrTimedOut              error = CodeTimedOut
	ErrPermissionDenied      error = CodePermissionDenied
	ErrIOError               error = CodeIOError
	ErrEscapesRoot           error = CodeEscapesRoot
	ErrMalformedAttribute    error = CodeMalformedAttribute
	ErrIOMMUOff              error = CodeIOMMUOff
	ErrNoIOMMUGroup          error = CodeNoIOMMUGroup
	ErrIdentityMismatch      error = CodeIdentityMismatch
	ErrBridgeRequested       error = CodeBridgeRequested
	ErrDeviceInUse           error = CodeDeviceInUse
	ErrBootFramebuffer       error = CodeBootFramebuffer
	ErrPFHasVFs              error = CodePFHasVFs
	ErrOwnedByOther          error = CodeOwnedByOther
	ErrDriverMissing         error = CodeDriverMissing
	ErrResetUnsupported      error = CodeResetUnsupported
	ErrBindFailed            error = CodeBindFailed
	ErrRollbackFailed        error = CodeRollbackFailed
	ErrInDoubt               error = CodeInDoubt
	ErrJournalCorrupt        error = CodeJournalCorrupt
	ErrLockFailed            error = CodeLockFailed
	ErrStateDirectoryUnsafe  error = CodeStateDirectoryUnsafe
	ErrDeviceInaccessible    error = CodeDeviceInaccessible
	ErrNotViable             error = CodeNotViable
	ErrWrongNode             error = CodeWrongNode
	ErrMissingOwnerReference error = CodeMissingOwnerReference
	ErrUnsupported           error = CodeUnsupported
	ErrOutOfMemory           error = CodeOutOfMemory
	ErrInternal              error = CodeInternal
)

// Error is a failed pcipass call: what failed, where, and what to do next.
// Strings are empty when they do not apply.
type Error struct {
	Code    Code
	Errno   syscall.Errno // of the failed system call, 0 when none
	Device  string        // the PCI address the error concerns
	Path    string        // the file read or written, relative to the host root
	Step    string        // the transaction step
	Message string
}

func (e *Error) Error() string {
	var text strings.Builder
	text.WriteString("pcipass: ")
	text.WriteString(e.Message)
	if e.Device != "" {
		fmt.Fprintf(&text, " [device %s]", e.Device)
	}
	if e.Path != "" {
		fmt.Fprintf(&text, " [path '%s']", e.Path)
	}
	if e.Errno != 0 {
		fmt.Fprintf(&text, " [errno %d: %s]", int(e.Errno), e.Errno.Error())
	}
	if e.Step != "" {
		fmt.Fprintf(&text, " [step %s]", e.Step)
	}
	return text.String()
}

// Is reports whether target is the Code of this error, so that
// errors.Is(err, pcipass.ErrBusy) works.
func (e *Error) Is(target error) bool {
	code, ok := target.(Code)
	return ok && code == e.Code
}

// Unwrap returns the errno, so that errors.Is(err, syscall.EBUSY) works;
// nil when no system call failed.
func (e *Error) Unwrap() error {
	if e.Errno == 0 {
		return nil
	}
	return e.Errno
}

// newError copies the details of a C error object and frees it; err may be NULL.
func newError(code Code, err *C.pcipass_error) *Error {
	if err == nil {
		return &Error{Code: code, Message: "call failed: " + code.String()}
	}
	defer C.pcipass_error_free(err)
	return &Error{
		Code:    Code(C.pcipass_error_code(err)),
		Errno:   syscall.Errno(C.pcipass_error_errno(err)),
		Device:  C.GoString(C.pcipass_error_device(err)),
		Path:    C.GoString(C.pcipass_error_path(err)),
		Step:    C.GoString(C.pcipass_error_step(err)),
		Message: C.GoString(C.pcipass_error_message(err)),
	}
}

// nilError is the error of a call on a nil *Host, *Engine, *Graph or
// *Watcher, which would otherwise panic on the nil pointer.
func nilError(kind string) error {
	return &Error{Code: CodeInvalidArgument, Message: "the " + kind + " is nil; pass one that was opened and not yet closed"}
}

// closedError is the error of a call on a closed handle.
func closedError(kind string) error {
	return &Error{Code: CodeInvalidArgument, Message: "the " + kind + " is closed"}
}
