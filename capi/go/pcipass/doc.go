// SPDX-License-Identifier: Apache-2.0

// Package pcipass moves PCI devices between host drivers and vfio-pci as
// transactions that roll back on failure, through the pcipass C ABI
// (libpcipass.so, found with pkg-config).
//
// Every handle (Host, Graph, Engine, Watcher) must be closed with Close,
// which is safe to call more than once. A method called after Close
// returns an error matching ErrInvalidArgument. Errors from pcipass are
// *Error values: errors.Is(err, pcipass.ErrBusy) tests the pcipass code and
// errors.Is(err, syscall.EBUSY) the errno of the failed system call.
//
// A simulated kernel (NewSim) is a Host like any other; its extra methods
// inject faults and read its state. The package checks at init that the
// loaded library has the version it was built for; when it has not, every
// constructor returns the error CheckVersion reports.
package pcipass
