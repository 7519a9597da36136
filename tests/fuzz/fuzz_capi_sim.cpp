/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Fuzzes the JSON entry points of the C ABI's simulated kernel and
 * transaction engine: topologies, simulator options, faults, requests,
 * desired sets and recovery options. Any input gives a status whose
 * outputs agree with it, never a crash.
 */

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "invariant.hpp"
#include "pcipass.h"

namespace {

/* Aborts unless the status and the presence of the output agree. */
void check(int status, bool has_output)
{
	if (status < PCIPASS_OK || status > PCIPASS_E_INTERNAL || status == PCIPASS_E_INTERNAL ||
	    (status == PCIPASS_OK) != has_output)
		std::abort();
}

struct Fixture {
	/* fsync in the journal costs nothing on tmpfs. */
	fuzz::ScratchDirectory scratch{"pcipass-fuzz-capi-sim"};
	pcipass_host *sim = nullptr;
	pcipass_engine *engine = nullptr;

	Fixture()
	{
		std::ifstream file(PCIPASS_FUZZ_TOPOLOGY);
		std::stringstream topology;
		topology << file.rdbuf();

		if (pcipass_sim_new(topology.str().c_str(), nullptr, &sim, nullptr) ||
		    pcipass_engine_open(sim, (scratch.path() / "state").c_str(), &engine, nullptr))
			std::abort();
	}

	~Fixture()
	{
		pcipass_engine_close(engine);
		pcipass_host_close(sim);
	}
};

} /* namespace */

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static Fixture fixture;

	/* The C ABI takes NUL-terminated strings; an embedded NUL ends the input early. */
	const std::string text(reinterpret_cast<const char *>(data), size);
	char *out = nullptr;

	pcipass_host *host = nullptr;
	int status = pcipass_sim_new(text.c_str(), nullptr, &host, nullptr);
	check(status, host != nullptr);
	pcipass_host_close(host);

	status = pcipass_sim_new("{}", text.c_str(), &host, nullptr);
	check(status, host != nullptr);
	pcipass_host_close(host);

	uint32_t fault = 0;
	status = pcipass_sim_inject(fixture.sim, text.c_str(), &fault, nullptr);
	check(status, fault != 0);
	/* A fault that blocks or delays would stall the transactions below. */
	pcipass_sim_clear_faults(fixture.sim, nullptr);

	status = pcipass_engine_plan(fixture.engine, PCIPASS_OPERATION_BIND, text.c_str(), &out,
				     nullptr);
	check(status, out != nullptr);
	pcipass_string_free(out);

	status = pcipass_engine_reconcile(fixture.engine, text.c_str(), nullptr, nullptr, &out,
					  nullptr);
	/* A valid desired set may still be refused by preflight, but not with "internal". */
	check(status, out != nullptr);
	pcipass_string_free(out);

	status = pcipass_engine_recover(fixture.engine, text.c_str(), nullptr, nullptr, &out,
					nullptr);
	check(status, out != nullptr);
	pcipass_string_free(out);

	return 0;
}
