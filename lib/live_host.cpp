/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 */

#include <pcipass/host.hpp>

namespace pcipass {

/* NOTE: placeholder until the confined implementation lands. */
result<std::unique_ptr<LiveHost>> LiveHost::open(const std::string &root)
{
	return make_error(errc::unsupported, "LiveHost is not implemented yet", {}, root);
}

} /* namespace pcipass */
