/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Helpers for the plan and transaction tests: topologies built in code, a
 * simulated kernel with an engine on a temporary state directory, expected
 * states and journal reading.
 */

#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include <pcipass/graph.hpp>
#include <pcipass/plan.hpp>
#include <pcipass/testing/sim.hpp>
#include <pcipass/testing/topology.hpp>
#include <pcipass/transaction.hpp>

namespace txntest {

using pcipass::testing::Topology;
using pcipass::testing::TopologyDevice;

pcipass::PciAddress address(std::string_view text);

/* A private directory under /dev/shm (where fsync costs nothing) or the temp directory. */
class TempDir
{
public:
	TempDir();
	~TempDir();
	TempDir(const TempDir &) = delete;
	TempDir &operator=(const TempDir &) = delete;

	const std::string &path() const { return path_; }

private:
	std::string path_;
};

/* A topology assembled in code. A driver added is loaded unless loaded is false. */
class Builder
{
public:
	explicit Builder(bool iommu = true);

	/* ids as "vvvv:dddd"; module empty for a built-in driver. */
	Builder &driver(const std::string &name, const std::string &module,
			const std::vector<std::string> &ids = {}, bool loaded = true);
	/* The vfio-pci driver and its modules. */
	Builder &vfio(bool loaded = true);

	/* An endpoint; id as "vvvv:dddd", class as six hex digits. */
	TopologyDevice &device(const std::string &bdf, const std::string &id, uint32_t class_code,
			       const std::string &driver, std::optional<unsigned> group,
			       const std::string &parent = {});
	/* A PCIe bridge (header type 01) on pcieport. */
	TopologyDevice &bridge(const std::string &bdf, std::optional<unsigned> group,
			       const std::string &parent = {}, const std::string &driver = "pcieport");

	TopologyDevice &find(const std::string &bdf);
	Topology &topology() { return topology_; }
	Topology build() const { return topology_; }

private:
	Topology topology_;
};

/* Loads tests/topologies/NAME.json from the source tree. */
Topology catalogue(const std::string &name);
/* Names of every catalogue topology (without .json), sorted. */
std::vector<std::string> catalogue_names();

/* Deadlines short enough for tests. */
pcipass::Deadlines fast_deadlines();

/* A request for addresses with fast deadlines. */
pcipass::Request request(const std::vector<std::string> &addresses, std::string owner = "test",
			 std::string driver = "vfio-pci");

/* A simulated kernel and an engine on a fresh state directory. */
struct Fixture {
	explicit Fixture(const Topology &topology);

	/* A second engine on the same host and state directory. */
	std::unique_ptr<pcipass::Engine> open_engine() const;

	TempDir dir;
	Topology topology;
	std::unique_ptr<pcipass::sim::Host> host;
	std::unique_ptr<pcipass::Engine> engine;
	pcipass::sim::State initial;
	std::string state_dir;
};

/* A device's expected binding: driver and override (empty: "(null)"). */
struct Binding {
	std::string driver;
	std::string override;
};

/*
 * The state with the given devices changed, and dev/vfio/N present for
 * exactly the groups that then hold a device on a VFIO driver.
 */
pcipass::sim::State with(pcipass::sim::State state, const Topology &topology,
			 const std::map<std::string, Binding> &bindings);

/* Every given device on vfio-pci with driver_override vfio-pci. */
pcipass::sim::State on_vfio(const pcipass::sim::State &state, const Topology &topology,
			    const std::vector<std::string> &devices);

/* The journal's lines as JSON objects (empty when there is none). */
std::vector<boost::json::object> journal_lines(const std::string &state_dir);

/* "committed", "rolled_back", ... from the last end line; empty when the last line is not an end. */
std::string journal_outcome(const std::string &state_dir);

/* No journal, or one whose last line ends the transaction cleanly. */
bool journal_clean(const std::string &state_dir);

/* Host writes (not module loads) in the simulator's log, with their paths. */
std::vector<std::string> written_paths(const pcipass::sim::Host &host);

/* An observer that keeps every step record and the final report. */
class Recorder final : public pcipass::Observer
{
public:
	void on_plan(const pcipass::Plan &plan) override { plan_ = plan; }
	void on_step(const pcipass::StepRecord &record) override { steps_.push_back(record); }
	void on_finish(const pcipass::Report &report) override { report_ = report; }

	std::optional<pcipass::Plan> plan_;
	std::vector<pcipass::StepRecord> steps_;
	std::optional<pcipass::Report> report_;
};

/*
 * The simulated kernel plus the platform bus of one firmware framebuffer,
 * efi-framebuffer.0 on the efi-framebuffer driver, shown in proc/fb while
 * bound. The simulator models only proc/fb, not the platform device that
 * releasing the framebuffer unbinds.
 */
class FramebufferHost final : public pcipass::Host
{
public:
	explicit FramebufferHost(pcipass::sim::Host &inner) : inner_(inner) {}

	std::string describe() const override { return inner_.describe(); }
	pcipass::result<std::string> read(std::string_view path, size_t max_size) override;
	pcipass::result<std::string> read_link(std::string_view path) override;
	pcipass::result<std::vector<pcipass::DirEntry>> list(std::string_view path) override;
	pcipass::result<std::unique_ptr<pcipass::Directory>> open_dir(std::string_view path) override;
	pcipass::result<std::string> resolve(std::string_view path) override;
	bool exists(std::string_view path) override;
	pcipass::result<void> write(std::string_view path, std::string_view value) override;
	pcipass::result<void> load_module(std::string_view name) override;
	pcipass::result<std::vector<pcipass::Holder>> holders(std::string_view path) override;
	bool can_write(std::string_view path) override;

	bool bound() const { return bound_; }
	/* Makes writes to the framebuffer's bind file fail with EIO. */
	void fail_bind(bool fail) { fail_bind_ = fail; }
	/* Makes can_write false for paths ending in this suffix. */
	void deny_writes(std::string suffix) { denied_suffix_ = std::move(suffix); }

private:
	pcipass::sim::Host &inner_;
	bool bound_ = true;
	bool fail_bind_ = false;
	std::string denied_suffix_;
};

/* The state with diff() in the failure message. */
std::string explain(const pcipass::sim::State &expected, const pcipass::sim::State &actual);

} /* namespace txntest */
