/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 */

#include "commands.hpp"

namespace pcipassctl {

void register_transaction_commands(CLI::App &, Context &, int &)
{
}

} /* namespace pcipassctl */
