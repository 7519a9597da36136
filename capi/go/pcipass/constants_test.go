// SPDX-License-Identifier: Apache-2.0

package pcipass

import (
	"os"
	"regexp"
	"strconv"
	"testing"
)

// headerConstants maps each #define of pcipass.h to the Go constant for
// it; the tests parse the header and compare.
var headerConstants = map[string]int64{
	"PCIPASS_VERSION_MAJOR":             int64(VersionMajor),
	"PCIPASS_VERSION_MINOR":             int64(VersionMinor),
	"PCIPASS_VERSION_PATCH":             int64(VersionPatch),
	"PCIPASS_OK":                        0,
	"PCIPASS_E_INVALID_ARGUMENT":        int64(CodeInvalidArgument),
	"PCIPASS_E_NOT_FOUND":               int64(CodeNotFound),
	"PCIPASS_E_BUSY":                    int64(CodeBusy),
	"PCIPASS_E_TIMED_OUT":               int64(CodeTimedOut),
	"PCIPASS_E_PERMISSION_DENIED":       int64(CodePermissionDenied),
	"PCIPASS_E_IO_ERROR":                int64(CodeIOError),
	"PCIPASS_E_ESCAPES_ROOT":            int64(CodeEscapesRoot),
	"PCIPASS_E_MALFORMED_ATTRIBUTE":     int64(CodeMalformedAttribute),
	"PCIPASS_E_IOMMU_OFF":               int64(CodeIOMMUOff),
	"PCIPASS_E_NO_IOMMU_GROUP":          int64(CodeNoIOMMUGroup),
	"PCIPASS_E_IDENTITY_MISMATCH":       int64(CodeIdentityMismatch),
	"PCIPASS_E_BRIDGE_REQUESTED":        int64(CodeBridgeRequested),
	"PCIPASS_E_DEVICE_IN_USE":           int64(CodeDeviceInUse),
	"PCIPASS_E_BOOT_FRAMEBUFFER":        int64(CodeBootFramebuffer),
	"PCIPASS_E_PF_HAS_VFS":              int64(CodePFHasVFs),
	"PCIPASS_E_OWNED_BY_OTHER":          int64(CodeOwnedByOther),
	"PCIPASS_E_DRIVER_MISSING":          int64(CodeDriverMissing),
	"PCIPASS_E_RESET_UNSUPPORTED":       int64(CodeResetUnsupported),
	"PCIPASS_E_BIND_FAILED":             int64(CodeBindFailed),
	"PCIPASS_E_ROLLBACK_FAILED":         int64(CodeRollbackFailed),
	"PCIPASS_E_IN_DOUBT":                int64(CodeInDoubt),
	"PCIPASS_E_JOURNAL_CORRUPT":         int64(CodeJournalCorrupt),
	"PCIPASS_E_LOCK_FAILED":             int64(CodeLockFailed),
	"PCIPASS_E_STATE_DIRECTORY_UNSAFE":  int64(CodeStateDirectoryUnsafe),
	"PCIPASS_E_DEVICE_INACCESSIBLE":     int64(CodeDeviceInaccessible),
	"PCIPASS_E_NOT_VIABLE":              int64(CodeNotViable),
	"PCIPASS_E_WRONG_NODE":              int64(CodeWrongNode),
	"PCIPASS_E_MISSING_OWNER_REFERENCE": int64(CodeMissingOwnerReference),
	"PCIPASS_E_UNSUPPORTED":             int64(CodeUnsupported),
	"PCIPASS_E_OUT_OF_MEMORY":           int64(CodeOutOfMemory),
	"PCIPASS_E_INTERNAL":                int64(CodeInternal),
	"PCIPASS_LOG_DEBUG":                 int64(LogDebug),
	"PCIPASS_LOG_INFO":                  int64(LogInfo),
	"PCIPASS_LOG_WARNING":               int64(LogWarning),
	"PCIPASS_LOG_ERROR":                 int64(LogError),
	"PCIPASS_LOG_CATEGORY_HOST":         int64(LogCategoryHost),
	"PCIPASS_LOG_CATEGORY_GRAPH":        int64(LogCategoryGraph),
	"PCIPASS_LOG_CATEGORY_PLAN":         int64(LogCategoryPlan),
	"PCIPASS_LOG_CATEGORY_TXN":          int64(LogCategoryTxn),
	"PCIPASS_LOG_CATEGORY_CLAIM":        int64(LogCategoryClaim),
	"PCIPASS_LOG_CATEGORY_WATCH":        int64(LogCategoryWatch),
	"PCIPASS_LOG_CATEGORY_CAPI":         int64(LogCategoryCapi),
	"PCIPASS_LOG_CATEGORY_SIM":          int64(LogCategorySim),
	"PCIPASS_OPERATION_BIND":            int64(OperationBind),
	"PCIPASS_OPERATION_RELEASE":         int64(OperationRelease),
}

// TestConstantsMatchHeader parses pcipass.h and compares every #define
// with an integer value against the Go constant for it.
func TestConstantsMatchHeader(t *testing.T) {
	header, err := os.ReadFile("../../pcipass.h")
	if err != nil {
		t.Fatal(err)
	}
	defines := regexp.MustCompile(`(?m)^#define (PCIPASS_[A-Z0-9_]+)\s+(\d+)\b`).
		FindAllSubmatch(header, -1)
	if len(defines) < 40 {
		t.Fatalf("found only %d #define lines in pcipass.h", len(defines))
	}

	seen := map[string]bool{}
	for _, define := range defines {
		name := string(define[1])
		value, err := strconv.ParseInt(string(define[2]), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		seen[name] = true
		constant, ok := headerConstants[name]
		if !ok {
			t.Errorf("%s = %d has no Go constant", name, value)
		} else if constant != value {
			t.Errorf("%s is %d in pcipass.h but %d in Go", name, value, constant)
		}
	}
	for name := range headerConstants {
		if !seen[name] {
			t.Errorf("%s has a Go constant but is not in pcipass.h", name)
		}
	}
}

func TestCodeNames(t *testing.T) {
	if CodeBusy.String() != "busy" {
		t.Errorf("CodeBusy is %q", CodeBusy.String())
	}
	if CodeMissingOwnerReference.String() != "missing_owner_reference" {
		t.Errorf("CodeMissingOwnerReference is %q", CodeMissingOwnerReference.String())
	}
	if Code(999).String() != "unknown" {
		t.Errorf("Code(999) is %q", Code(999).String())
	}
}

func TestVersion(t *testing.T) {
	if err := CheckVersion(); err != nil {
		t.Fatal(err)
	}
	major, minor, patch := Version()
	if major != VersionMajor || minor != VersionMinor || patch != VersionPatch {
		t.Errorf("library %d.%d.%d, header %d.%d.%d", major, minor, patch,
			VersionMajor, VersionMinor, VersionPatch)
	}
}
