// SPDX-License-Identifier: Apache-2.0

package pcipass

import "sync"

// handle owns one C handle (P is its pointer type) and frees it once. A
// call through use holds the read lock and close the write lock, so the
// handle is never freed while a call uses it.
type handle[P comparable] struct {
	mutex   sync.RWMutex
	pointer P
	kind    string // "host", "engine", ... for the error after close
}

func newHandle[P comparable](pointer P, kind string) handle[P] {
	return handle[P]{pointer: pointer, kind: kind}
}

// close frees the handle with free the first time and does nothing later.
func (h *handle[P]) close(free func(P)) {
	h.mutex.Lock()
	defer h.mutex.Unlock()
	var closed P
	if h.pointer != closed {
		free(h.pointer)
		h.pointer = closed
	}
}

// use calls f with the pointer; calls may run concurrently.
func (h *handle[P]) use(f func(P) error) error {
	h.mutex.RLock()
	defer h.mutex.RUnlock()
	return h.call(f)
}

// useExclusive calls f with the pointer, one call at a time, for handles
// that the C ABI allows on one thread at a time.
func (h *handle[P]) useExclusive(f func(P) error) error {
	h.mutex.Lock()
	defer h.mutex.Unlock()
	return h.call(f)
}

func (h *handle[P]) call(f func(P) error) error {
	var closed P
	if h.pointer == closed {
		return closedError(h.kind)
	}
	return f(h.pointer)
}
