// SPDX-License-Identifier: Apache-2.0

package pcipass

// #cgo pkg-config: pcipass
// #include <pcipass.h>
import "C"

// The header version this package was built against. Taken from pcipass.h
// by cgo, so they cannot drift from it.
const (
	VersionMajor = int(C.PCIPASS_VERSION_MAJOR)
	VersionMinor = int(C.PCIPASS_VERSION_MINOR)
	VersionPatch = int(C.PCIPASS_VERSION_PATCH)
)

// Code is a pcipass status code (PCIPASS_E_*), equal to the C++ pcipass::errc.
type Code int32

// The status codes of pcipass.h.
const (
	CodeInvalidArgument       Code = C.PCIPASS_E_INVALID_ARGUMENT
	CodeNotFound              Code = C.PCIPASS_E_NOT_FOUND
	CodeBusy                  Code = C.PCIPASS_E_BUSY
	CodeTimedOut              Code = C.PCIPASS_E_TIMED_OUT
	CodePermissionDenied      Code = C.PCIPASS_E_PERMISSION_DENIED
	CodeIOError               Code = C.PCIPASS_E_IO_ERROR
	CodeEscapesRoot           Code = C.PCIPASS_E_ESCAPES_ROOT
	CodeMalformedAttribute    Code = C.PCIPASS_E_MALFORMED_ATTRIBUTE
	CodeIOMMUOff              Code = C.PCIPASS_E_IOMMU_OFF
	CodeNoIOMMUGroup          Code = C.PCIPASS_E_NO_IOMMU_GROUP
	CodeIdentityMismatch      Code = C.PCIPASS_E_IDENTITY_MISMATCH
	CodeBridgeRequested       Code = C.PCIPASS_E_BRIDGE_REQUESTED
	CodeDeviceInUse           Code = C.PCIPASS_E_DEVICE_IN_USE
	CodeBootFramebuffer       Code = C.PCIPASS_E_BOOT_FRAMEBUFFER
	CodePFHasVFs              Code = C.PCIPASS_E_PF_HAS_VFS
	CodeOwnedByOther          Code = C.PCIPASS_E_OWNED_BY_OTHER
	CodeDriverMissing         Code = C.PCIPASS_E_DRIVER_MISSING
	CodeResetUnsupported      Code = C.PCIPASS_E_RESET_UNSUPPORTED
	CodeBindFailed            Code = C.PCIPASS_E_BIND_FAILED
	CodeRollbackFailed        Code = C.PCIPASS_E_ROLLBACK_FAILED
	CodeInDoubt               Code = C.PCIPASS_E_IN_DOUBT
	CodeJournalCorrupt        Code = C.PCIPASS_E_JOURNAL_CORRUPT
	CodeLockFailed            Code = C.PCIPASS_E_LOCK_FAILED
	CodeStateDirectoryUnsafe  Code = C.PCIPASS_E_STATE_DIRECTORY_UNSAFE
	CodeDeviceInaccessible    Code = C.PCIPASS_E_DEVICE_INACCESSIBLE
	CodeNotViable             Code = C.PCIPASS_E_NOT_VIABLE
	CodeWrongNode             Code = C.PCIPASS_E_WRONG_NODE
	CodeMissingOwnerReference Code = C.PCIPASS_E_MISSING_OWNER_REFERENCE
	CodeUnsupported           Code = C.PCIPASS_E_UNSUPPORTED
	CodeOutOfMemory           Code = C.PCIPASS_E_OUT_OF_MEMORY
	CodeInternal              Code = C.PCIPASS_E_INTERNAL
)

// LogLevel is the level of a log line (PCIPASS_LOG_*).
type LogLevel int32

const (
	LogDebug   LogLevel = C.PCIPASS_LOG_DEBUG
	LogInfo    LogLevel = C.PCIPASS_LOG_INFO
	LogWarning LogLevel = C.PCIPASS_LOG_WARNING
	LogError   LogLevel = C.PCIPASS_LOG_ERROR
)

// The log categories (PCIPASS_LOG_CATEGORY_*); LogCategoryName gives their names.
const (
	LogCategoryHost  = int32(C.PCIPASS_LOG_CATEGORY_HOST)
	LogCategoryGraph = int32(C.PCIPASS_LOG_CATEGORY_GRAPH)
	LogCategoryPlan  = int32(C.PCIPASS_LOG_CATEGORY_PLAN)
	LogCategoryTxn   = int32(C.PCIPASS_LOG_CATEGORY_TXN)
	LogCategoryClaim = int32(C.PCIPASS_LOG_CATEGORY_CLAIM)
	LogCategoryWatch = int32(C.PCIPASS_LOG_CATEGORY_WATCH)
	LogCategoryCapi  = int32(C.PCIPASS_LOG_CATEGORY_CAPI)
	LogCategorySim   = int32(C.PCIPASS_LOG_CATEGORY_SIM)
)

// Operation selects what Engine.Plan plans (PCIPASS_OPERATION_*).
type Operation int32

const (
	OperationBind    Operation = C.PCIPASS_OPERATION_BIND
	OperationRelease Operation = C.PCIPASS_OPERATION_RELEASE
)
