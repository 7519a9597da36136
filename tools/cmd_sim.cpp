/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 */

#include "commands.hpp"

namespace pcipassctl {

pcipass::result<std::unique_ptr<pcipass::Host>> open_simulated_host(const std::string &file)
{
	return pcipass::make_error(pcipass::errc::unsupported,
				   "the simulated kernel is not built yet; cannot load '" + file + "'");
}

pcipass::result<void> save_simulated_host(pcipass::Host &, const std::string &file)
{
	return pcipass::make_error(pcipass::errc::unsupported,
				   "the simulated kernel is not built yet; cannot save '" + file + "'");
}

} /* namespace pcipassctl */
