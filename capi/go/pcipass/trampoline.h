/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * C functions that pass Go callbacks to pcipass: they turn an integer
 * cgo.Handle into the void * userdata in C, where no Go pointer rule
 * applies to it, and adapt the exported Go functions to the callback types.
 */

#ifndef PCIPASS_GO_TRAMPOLINE_H
#define PCIPASS_GO_TRAMPOLINE_H

#include <stdint.h>

#include <pcipass.h>

typedef int (*pcipass_go_transaction_fn)(pcipass_engine *engine, const char *input,
					 pcipass_step_fn on_step, void *userdata,
					 char **result_json, pcipass_error **err);

/* Runs a transaction function; handle 0 passes no step callback. */
int pcipass_go_transact(pcipass_go_transaction_fn transaction, pcipass_engine *engine,
			const char *input, uintptr_t handle, char **result_json,
			pcipass_error **err);

int pcipass_go_watch(pcipass_watcher *watcher, int32_t timeout_ms, uintptr_t handle,
		     pcipass_error **err);

/* Installs the Go log sink of handle, or removes the sink for handle 0. */
int pcipass_go_set_log_sink(uintptr_t handle, int32_t level, pcipass_error **err);

#endif /* PCIPASS_GO_TRAMPOLINE_H */
