/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * pcipassctl: the command-line front end of pcipass.
 */

#include <CLI/CLI.hpp>

#include <pcipass/version.hpp>

int main(int argc, char **argv)
{
	CLI::App app{"pcipassctl: inspect PCI devices and move them to vfio-pci and back"};
	app.set_version_flag("--version", PCIPASS_VERSION_STRING);

	try {
		app.parse(argc, argv);
	} catch (const CLI::ParseError &error) {
		return app.exit(error) == 0 ? 0 : 2;
	}

	return 0;
}
