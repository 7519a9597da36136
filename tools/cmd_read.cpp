/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The read-only commands: list, show, doctor and snapshot. None of them
 * writes to the host, so they are safe against the machine's own /sys.
 */

#include <algorithm>
#include <iostream>
#include <map>
#include <sstream>

#include <boost/json/serialize.hpp>

#include <pcipass/graph.hpp>
#include <pcipass/graph_json.hpp>
#include <pcipass/testing/snapshot.hpp>
#include <pcipass/testing/topology.hpp>

#include "commands.hpp"
#include "escaped_output.hpp"
#include "doctor.hpp"

namespace pcipassctl {

namespace {

using pcipass::Device;
using pcipass::DeviceGraph;
using pcipass::PciAddress;
using pcipass::Readiness;

struct ReadOptions {
	std::string target = "vfio-pci";
	std::string address;
	bool tree = false;
};

pcipass::result<DeviceGraph> scan(Context &context, const pcipass::ScanOptions &options = {})
{
	BOOST_OUTCOME_TRY(auto host, context.host());
	return DeviceGraph::scan(*host, options);
}

/* The address argument, or an exit status for a usage error. */
std::optional<PciAddress> parse_address(const std::string &text, int &status)
{
	auto address = PciAddress::parse(text);
	if (address)
		return address.value();
	std::cerr << "pcipassctl: " << escape_message(address.error().message)
		  << "; run 'pcipassctl list' for the addresses\n";
	status = exit_usage;
	return std::nullopt;
}

void print_json(const boost::json::value &value)
{
	std::cout << boost::json::serialize(value) << "\n";
}

std::string readiness_text(const Readiness &readiness)
{
	switch (readiness.state) {
	case Readiness::State::ready:
		return "ready";
	case Readiness::State::in_use:
		return "in use";
	case Readiness::State::claimable:
		return "claimable";
	case Readiness::State::blocked:
		break;
	}

	std::string reasons;
	for (const pcipass::Blocker &blocker : readiness.blockers)
		if (reasons.find(blocker.reason) == std::string::npos)
			reasons += (reasons.empty() ? "" : ",") + blocker.reason;
	return "blocked: " + reasons;
}

std::string device_name(const Device &device)
{
	std::string name = device.vendor_name;
	if (!device.device_name.empty())
		name += (name.empty() ? "" : " ") + device.device_name;
	return name;
}

/*
 * Rows of cells printed with each column as wide as its widest cell. add()
 * escapes cells, because most hold names and values read from sysfs.
 */
class Table
{
public:
	void add(const std::vector<std::string> &row)
	{
		std::vector<std::string> escaped;
		for (const std::string &cell : row)
			escaped.push_back(escape_text(cell));
		rows_.push_back(std::move(escaped));
	}

	/* Adds cells that the caller escaped, such as messages passed through escape_message(). */
	void add_escaped(std::vector<std::string> row)
	{
		rows_.push_back(std::move(row));
	}

	void print(std::ostream &out) const
	{
		std::vector<size_t> widths;
		for (const auto &row : rows_)
			for (size_t i = 0; i < row.size(); i++) {
				widths.resize(std::max(widths.size(), row.size()));
				widths[i] = std::max(widths[i], row[i].size());
			}

		for (const auto &row : rows_) {
			std::string line;
			for (size_t i = 0; i < row.size(); i++) {
				line += row[i];
				if (i + 1 < row.size())
					line += std::string(widths[i] - row[i].size() + 2, ' ');
			}
			while (!line.empty() && line.back() == ' ')
				line.pop_back();
			out << line << "\n";
		}
	}

private:
	std::vector<std::vector<std::string>> rows_;
};

std::vector<std::string> list_row(const DeviceGraph &graph, const Device &device,
				  const std::string &target, const std::string &indent)
{
	return {
		indent + device.address.to_string(),
		pcipass::id_pair_string(device.vendor, device.device),
		std::string(device.class_code.description()),
		device.driver.value_or("-"),
		device.iommu_group ? std::to_string(*device.iommu_group) : "-",
		readiness_text(graph.readiness(device.address, target)),
		device_name(device),
	};
}

/* Findings go to stderr so that the table and the JSON stay clean for scripts. */
void print_findings(const DeviceGraph &graph)
{
	for (const pcipass::Finding &finding : graph.host().findings)
		std::cerr << "pcipassctl: warning: " << escape_message(finding.message) << "\n";
	for (const Device &device : graph.devices())
		for (const pcipass::Finding &finding : device.findings)
			std::cerr << "pcipassctl: warning: " << device.address.to_string() << ": "
				  << escape_message(finding.message) << "\n";
}

void add_tree_rows(const DeviceGraph &graph, const Device &device, const std::string &target,
		   const std::multimap<PciAddress, const Device *> &children, size_t depth,
		   Table &table)
{
	table.add(list_row(graph, device, target, std::string(depth * 2, ' ')));
	const auto [begin, end] = children.equal_range(device.address);
	for (auto child = begin; child != end; ++child)
		add_tree_rows(graph, *child->second, target, children, depth + 1, table);
}

int run_list(Context &context, const ReadOptions &options)
{
	auto graph = scan(context);
	if (!graph)
		return report(graph.error());

	if (context.json()) {
		boost::json::array devices;
		for (const Device &device : graph.value().devices()) {
			boost::json::object object = pcipass::to_json(device);
			object["readiness"] =
				pcipass::to_json(graph.value().readiness(device.address, options.target));
			devices.emplace_back(std::move(object));
		}
		print_json(devices);
		return exit_ok;
	}

	Table table;
	table.add({"ADDRESS", "ID", "CLASS", "DRIVER", "GROUP", "PASSTHROUGH", "NAME"});
	if (options.tree) {
		std::multimap<PciAddress, const Device *> children;
		for (const Device &device : graph.value().devices())
			if (!device.parents.empty())
				children.emplace(device.parents.front(), &device);
		for (const Device &device : graph.value().devices())
			if (device.parents.empty())
				add_tree_rows(graph.value(), device, options.target, children, 0, table);
	} else {
		for (const Device &device : graph.value().devices())
			table.add(list_row(graph.value(), device, options.target, ""));
	}
	table.print(std::cout);

	if (!graph.value().host().iommu_enabled)
		std::cout << "\nThe IOMMU is off, so no device can be passed through; run "
			     "'pcipassctl doctor' for how to turn it on.\n";
	print_findings(graph.value());
	return exit_ok;
}

std::string join(const std::vector<std::string> &parts, const std::string &separator)
{
	std::string text;
	for (const std::string &part : parts)
		text += (text.empty() ? "" : separator) + part;
	return text;
}

std::string address_list(const std::vector<PciAddress> &addresses)
{
	std::vector<std::string> parts;
	for (PciAddress address : addresses)
		parts.push_back(address.to_string());
	return parts.empty() ? "-" : join(parts, " ");
}

std::string consumer_text(const pcipass::Consumer &consumer)
{
	std::string text = std::string(pcipass::consumer_kind_name(consumer.kind)) + " " + consumer.name;
	if (!consumer.description.empty())
		text += " (" + consumer.description + ")";
	if (consumer.default_route)
		text += ", carries the default route";
	if (!consumer.mountpoint.empty())
		text += consumer.mountpoint == "[swap]" ? ", used as swap"
							: ", mounted at " + consumer.mountpoint;
	return text;
}

void print_device(const Device &device, std::ostream &out)
{
	Table table;
	auto field = [&](std::string name, std::string value) {
		table.add({"  " + std::move(name), std::move(value)});
	};

	out << device.address.to_string();
	if (!device_name(device).empty())
		out << "  " << escape_text(device_name(device));
	out << "\n";

	char revision[8];
	std::snprintf(revision, sizeof(revision), "%02x", device.revision);
	field("ID", pcipass::id_pair_string(device.vendor, device.device) + " (subsystem " +
			    pcipass::id_pair_string(device.subsystem_vendor, device.subsystem_device) +
			    "), revision " + revision);
	field("class", device.class_code.to_string() + " " + std::string(device.class_code.description()));
	field("header", "type " + std::to_string(device.header_type & 0x7f) +
				(device.header_type & 0x80 ? ", multi-function" : "") +
				(device.is_bridge() ? ", bridge" : ""));
	field("driver", device.driver.value_or("none"));
	field("driver_override", !device.driver_override ? "unset"
				 : device.driver_override->empty()
					 ? "empty (matches no driver; clear it by writing a newline)"
					 : *device.driver_override);
	field("IOMMU group", device.iommu_group ? std::to_string(*device.iommu_group) : "none");
	field("NUMA node", std::to_string(device.numa_node));
	field("sysfs path", device.sysfs_path);
	field("parents", address_list(device.parents));
	if (device.physfn)
		field("physfn", device.physfn->to_string());
	if (device.sriov)
		field("SR-IOV", std::to_string(device.sriov->num_vfs) + " of " +
					std::to_string(device.sriov->total_vfs) + " VFs enabled, autoprobe " +
					(device.sriov->drivers_autoprobe ? "on" : "off") + "; VFs " +
					address_list(device.sriov->vfs));
	if (device.boot_vga)
		field("boot VGA", *device.boot_vga ? "yes" : "no");
	field("reset", !device.has_reset ? "none"
			: device.reset_methods.empty() ? "yes" : join(device.reset_methods, " "));
	if (device.vfio_device)
		field("VFIO device", "/dev/vfio/devices/" + *device.vfio_device);
	if (device.inaccessible)
		field("state", "inaccessible: config space reads all ones (D3cold or removed)");
	for (const pcipass::Consumer &consumer : device.consumers)
		field("consumer", consumer_text(consumer));
	for (const pcipass::Finding &finding : device.findings)
		table.add_escaped({"  finding", escape_message(finding.message)});
	table.print(out);
}

int run_show(Context &context, const ReadOptions &options)
{
	int status = exit_ok;
	const auto address = parse_address(options.address, status);
	if (!address)
		return status;

	auto scanned = scan(context);
	if (!scanned)
		return report(scanned.error());
	const DeviceGraph &graph = scanned.value();

	const Device *device = graph.find(*address);
	if (!device)
		return report(pcipass::make_error(pcipass::errc::not_found,
						  "no PCI function " + address->to_string() +
							  "; run 'pcipassctl list' for the addresses"),
			      exit_usage);

	const Readiness readiness = graph.readiness(*address, options.target);
	const pcipass::IommuGroup *group = device->iommu_group ? graph.group(*device->iommu_group) : nullptr;

	if (context.json()) {
		boost::json::array members;
		for (const Device *member : graph.group_members_of(*address))
			members.emplace_back(pcipass::to_json(*member));
		boost::json::object object{
			{"device", pcipass::to_json(*device)},
			{"group", group ? boost::json::value(pcipass::to_json(*group)) : nullptr},
			{"group_members", std::move(members)},
			{"viability", group ? boost::json::value(pcipass::to_json(
						      graph.viability(group->number, options.target)))
					    : nullptr},
			{"readiness", pcipass::to_json(readiness)},
		};
		print_json(object);
		return exit_ok;
	}

	print_device(*device, std::cout);

	std::cout << "\n";
	if (group) {
		std::cout << "IOMMU group " << group->number << ", /dev/vfio/" << group->number
			  << (group->device_node ? " exists" : " absent");
		if (!group->holders.empty()) {
			std::vector<std::string> holders;
			for (const pcipass::Holder &holder : group->holders)
				holders.push_back(holder.command + " (pid " + std::to_string(holder.pid) + ")");
			std::cout << ", open by " << escape_text(join(holders, ", "));
		}
		std::cout << "\n";
		Table members;
		for (const Device *member : graph.group_members_of(*address))
			members.add({"  " + member->address.to_string(),
				     pcipass::id_pair_string(member->vendor, member->device),
				     std::string(member->class_code.description()),
				     member->driver.value_or("no driver"),
				     member->is_bridge() ? "bridge" : ""});
		members.print(std::cout);
	} else {
		std::cout << "No IOMMU group.\n";
	}

	const std::string target = escape_text(options.target);
	std::cout << "\nPassthrough to " << target << ": " << escape_text(readiness_text(readiness))
		  << "\n";
	if (readiness.state == Readiness::State::claimable)
		std::cout << "  a claim moves " << address_list(readiness.moves) << " to " << target << "\n";
	for (const pcipass::Blocker &blocker : readiness.blockers)
		std::cout << "  " << escape_message(blocker.message) << "\n";
	return exit_ok;
}

int run_doctor(Context &context, const ReadOptions &options)
{
	std::optional<PciAddress> address;
	int status = exit_ok;
	if (!options.address.empty()) {
		address = parse_address(options.address, status);
		if (!address)
			return status;
	}

	auto host = context.host();
	if (!host)
		return report(host.error());
	auto graph = DeviceGraph::scan(*host.value());
	if (!graph)
		return report(graph.error());

	const std::vector<Check> checks = run_checks(*host.value(), graph.value(), address, options.target);
	const bool failed = std::any_of(checks.begin(), checks.end(),
					[](const Check &check) { return check.status == Check::Status::failed; });

	if (context.json()) {
		boost::json::array array;
		for (const Check &check : checks)
			array.emplace_back(to_json(check));
		print_json(boost::json::object{{"ok", !failed}, {"checks", std::move(array)}});
	} else {
		for (const Check &check : checks) {
			std::cout << status_name(check.status) << "  " << escape_message(check.message) << "\n";
			if (!check.fix.empty())
				std::cout << "      fix: " << escape_message(check.fix) << "\n";
		}
	}
	return failed ? exit_failed : exit_ok;
}

int run_snapshot(Context &context)
{
	context.use_json_output();

	pcipass::ScanOptions options;
	options.driver_modules = true;

	auto host = context.host();
	if (!host)
		return report(host.error());
	auto graph = DeviceGraph::scan(*host.value(), options);
	if (!graph)
		return report(graph.error());

	const pcipass::testing::Topology topology = pcipass::testing::topology_from_graph(
		graph.value(), "Snapshot of the " + host.value()->describe() + " taken by pcipassctl");
	std::cout << pcipass::testing::to_json(topology);

	/* A snapshot that would not load again is still worth attaching to a report. */
	if (auto valid = pcipass::testing::validate_topology(topology); !valid)
		std::cerr << "pcipassctl: warning: the snapshot does not load as a topology: "
			  << escape_message(valid.error().message) << "\n";
	print_findings(graph.value());
	return exit_ok;
}

} /* namespace */

void register_read_commands(CLI::App &app, Context &context, int &status)
{
	auto options = std::make_shared<ReadOptions>();

	CLI::App *list = app.add_subcommand("list", "List PCI functions with their driver, IOMMU "
						    "group and passthrough readiness");
	list->add_flag("--tree", options->tree, "Nest functions under the bridges above them");
	list->add_option("--target", options->target, "Driver to judge readiness for")
		->capture_default_str();
	list->callback([&context, &status, options] { status = run_list(context, *options); });

	CLI::App *show = app.add_subcommand("show", "Show everything about one function and its "
						    "IOMMU group, and why it is or is not ready");
	show->add_option("address", options->address, "PCI address, DDDD:BB:DD.F")->required();
	show->add_option("--target", options->target, "Driver to judge readiness for")
		->capture_default_str();
	show->callback([&context, &status, options] { status = run_show(context, *options); });

	CLI::App *doctor = app.add_subcommand("doctor", "Check that the host can pass devices through "
							"and say how to fix what is missing");
	doctor->add_option("address", options->address, "Also check this function and its group");
	doctor->add_option("--target", options->target, "Driver to check for")->capture_default_str();
	doctor->callback([&context, &status, options] { status = run_doctor(context, *options); });

	CLI::App *snapshot = app.add_subcommand("snapshot", "Print this host as a topology document, "
							    "to attach to a bug report or replay in tests");
	snapshot->callback([&context, &status] { status = run_snapshot(context); });
}

} /* namespace pcipassctl */
