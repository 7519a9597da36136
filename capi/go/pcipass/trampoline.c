/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The C side of the Go callbacks; see trampoline.h.
 */

#include "trampoline.h"

#include "_cgo_export.h"

/* cgo exports the Go functions with char * where pcipass passes const char *. */
static void step_trampoline(void *userdata, const char *step_json)
{
	pcipassGoStep(userdata, (char *)step_json);
}

static bool event_trampoline(void *userdata, const char *event_json)
{
	return pcipassGoEvent(userdata, (char *)event_json) != 0;
}

static void log_trampoline(void *userdata, int32_t level, int32_t category, const char *message)
{
	pcipassGoLog(userdata, level, category, (char *)message);
}

int pcipass_go_transact(pcipass_go_transaction_fn transaction, pcipass_engine *engine,
			const char *input, uintptr_t handle, char **result_json,
			pcipass_error **err)
{
	return transaction(engine, input, handle ? step_trampoline : NULL, (void *)handle,
			   result_json, err);
}

int pcipass_go_watch(pcipass_watcher *watcher, int32_t timeout_ms, uintptr_t handle,
		     pcipass_error **err)
{
	return pcipass_watcher_run(watcher, timeout_ms, event_trampoline, (void *)handle, err);
}

int pcipass_go_set_log_sink(uintptr_t handle, int32_t level, pcipass_error **err)
{
	return pcipass_set_log_sink(handle ? log_trampoline : NULL, (void *)handle, level, err);
}
