/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * pcipass_version(), from the project version in meson.build.
 */

#include <cstdint>

/*
 * This file includes version.hpp and not pcipass.h, whose hand-written
 * PCIPASS_VERSION_* macros have the same names. The C test compares the
 * two, so a header that fell behind the project version fails it.
 */
#include <pcipass/version.hpp>

extern "C" __attribute__((visibility("default"))) uint32_t pcipass_version(void)
{
	return (uint32_t(PCIPASS_VERSION_MAJOR) << 16) | (uint32_t(PCIPASS_VERSION_MINOR) << 8) |
	       uint32_t(PCIPASS_VERSION_PATCH);
}
