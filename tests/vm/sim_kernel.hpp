/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The simulated kernel as a scenario kernel, so that the scenarios the test
 * guest runs against Linux run against sim::Host too and the two records
 * can be compared.
 */

#pragma once

#include <set>
#include <string>
#include <string_view>

#include <pcipass/testing/sim.hpp>

#include "scenario.hpp"

namespace scenario {

class SimKernel final : public Kernel
{
public:
	/* The host must outlive this kernel. */
	explicit SimKernel(pcipass::sim::Host &host);
	~SimKernel() override;

	int write(const std::string &path, std::string_view value) override;
	std::optional<std::string> read(const std::string &path) override;
	std::optional<std::string> link_name(const std::string &path) override;
	std::vector<std::string> list(const std::string &path) override;
	bool exists(const std::string &path) override;

	int load_module(const std::string &name) override;
	int unload_module(const std::string &name) override;
	/*
	 * A plain open claims nothing on Linux, so the simulator only checks
	 * that the node exists.
	 */
	int hold_open(const std::string &path) override;
	/* A VFIO user: sim::Host::open_node() with this process's pid. */
	int attach_group(const std::string &path) override;
	int close_held(const std::string &path) override;

private:
	pcipass::sim::Host &host_;
	std::set<std::string> opened_;
	std::set<std::string> attached_;
};

} /* namespace scenario */
