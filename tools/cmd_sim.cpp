/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * pcipassctl --sim FILE: the simulated kernel loaded from a topology file,
 * and its state written back so that a sequence of commands behaves like a
 * sequence on one host.
 */

#include <cerrno>
#include <cstdio>
#include <fstream>

#include <pcipass/testing/sim.hpp>
#include <pcipass/testing/topology.hpp>

#include "commands.hpp"

namespace pcipassctl {

pcipass::result<std::unique_ptr<pcipass::Host>> open_simulated_host(const std::string &file)
{
	BOOST_OUTCOME_TRY(auto topology, pcipass::testing::load_topology(file));
	BOOST_OUTCOME_TRY(auto host, pcipass::sim::Host::create(topology));
	return std::unique_ptr<pcipass::Host>(std::move(host));
}

pcipass::result<void> save_simulated_host(pcipass::Host &host, const std::string &file)
{
	auto *simulated = dynamic_cast<pcipass::sim::Host *>(&host);
	if (!simulated)
		return pcipass::make_error(pcipass::errc::internal,
					   "cannot save '" + file + "': the host is " + host.describe() +
						   ", not the simulated kernel",
					   {}, file);

	/* Write beside the file and rename, so an interrupted save leaves the old state whole. */
	const std::string temporary = file + ".tmp";
	{
		std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
		out << pcipass::testing::to_json(simulated->to_topology());
		out.close();
		if (!out) {
			const int sys_errno = errno != 0 ? errno : EIO;
			std::remove(temporary.c_str());
			return pcipass::make_sys_error(sys_errno,
						       "cannot write the simulated state to '" + temporary +
							       "'; check that its directory is writable",
						       {}, temporary);
		}
	}
	if (std::rename(temporary.c_str(), file.c_str()) != 0) {
		const int sys_errno = errno;
		std::remove(temporary.c_str());
		return pcipass::make_sys_error(sys_errno,
					       "cannot replace '" + file + "' with the new simulated state",
					       {}, file);
	}
	return pcipass::success();
}

} /* namespace pcipassctl */
