/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * pcipassctl objects and validate-claim: the Kubernetes and libvirt objects
 * around a device, and the offline check of a PCIDeviceClaim.
 */

#include <cerrno>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <pcipass/claim.hpp>
#include <pcipass/graph.hpp>

#include "commands.hpp"
#include "escaped_output.hpp"
#include "json_text.hpp"

namespace pcipassctl {

namespace {

struct ObjectsOptions {
	std::string address;
	std::string node;
	std::string uid;
	std::vector<std::string> sibling_uids; /* ADDR=UID */
	std::string user;
	bool controller = false;
	bool block_owner_deletion = false;
	bool pcidevice = false;
	bool siblings = false;
	bool kubevirt = false;
	bool libvirt = false;
};

struct ValidateOptions {
	std::string claim_file;
	std::string node;
	std::string pcidevice_file;
};

pcipass::result<pcipass::DeviceGraph> scan(Context &context)
{
	BOOST_OUTCOME_TRY(auto host, context.host());

	pcipass::ScanOptions options;
	options.holders = false;
	return pcipass::DeviceGraph::scan(*host, options);
}

/* The whole file, or standard input for "-". */
pcipass::result<std::string> read_input(const std::string &file)
{
	if (file == "-")
		return std::string(std::istreambuf_iterator<char>(std::cin), {});

	std::ifstream stream(file, std::ios::binary);
	if (!stream)
		return pcipass::make_sys_error(errno, "cannot open " + file + ": check the path", {},
					       file);

	std::ostringstream content;
	content << stream.rdbuf();
	if (stream.bad())
		return pcipass::make_sys_error(errno ? errno : EIO, "cannot read " + file, {}, file);

	return content.str();
}

pcipass::result<boost::json::value> read_json(const std::string &file)
{
	BOOST_OUTCOME_TRY(auto text, read_input(file));

	return pcipass::detail::parse_json_strict(text, file);
}

/* The host name, which Harvester and the kubelet use as the node name by default. */
pcipass::result<std::string> local_node_name()
{
	char name[256] = {};
	if (gethostname(name, sizeof(name) - 1) != 0)
		return pcipass::make_sys_error(errno, "cannot read the host name: pass --node");
	return std::string(name);
}

pcipass::result<pcipass::ObjectsRequest> make_request(const ObjectsOptions &options)
{
	pcipass::ObjectsRequest request;
	BOOST_OUTCOME_TRY(request.address, pcipass::PciAddress::parse(options.address));

	request.node = options.node;
	if (!options.uid.empty())
		request.uids[request.address] = options.uid;

	for (const std::string &entry : options.sibling_uids) {
		const size_t equals = entry.find('=');
		if (equals == std::string::npos)
			return pcipass::make_error(pcipass::errc::invalid_argument,
						   "--sibling-uid " + entry +
							   " is invalid: expected ADDR=UID, such as "
							   "0000:01:00.1=cb439de7-3145-4b0f-a64e-f34a4dec2059");

		BOOST_OUTCOME_TRY(auto sibling, pcipass::PciAddress::parse(entry.substr(0, equals)));
		request.uids[sibling] = entry.substr(equals + 1);
	}

	request.claim.user_name = options.user;
	request.claim.controller = options.controller;
	request.claim.block_owner_deletion = options.block_owner_deletion;
	request.siblings = options.siblings;
	request.pcidevices = options.pcidevice;
	request.kubevirt = options.kubevirt;
	request.libvirt = options.libvirt;
	return request;
}

/*
 * Prints the objects for people: Kubernetes objects as JSON documents
 * separated by "---", which `kubectl apply -f -` reads as a YAML stream,
 * then the KubeVirt entries and the libvirt XML under comment lines.
 */
void print_objects(const pcipass::Objects &objects, const pcipass::ObjectsRequest &request)
{
	bool first = true;
	const auto separate = [&first]() {
		if (!first)
			std::cout << "---\n";
		first = false;
	};

	for (const pcipass::PciDeviceObject &pcidevice : objects.pcidevices) {
		separate();
		std::cout << pcipass::detail::format_json(pcipass::to_json(pcidevice));
	}
	for (const pcipass::PciDeviceClaim &claim : objects.claims) {
		separate();
		std::cout << pcipass::detail::format_json(pcipass::to_json(claim));
	}

	if (request.kubevirt) {
		boost::json::array host_devices;
		for (const pcipass::KubevirtHostDevice &entry : objects.host_devices)
			host_devices.push_back(pcipass::to_json(entry));
		boost::json::array permitted;
		for (const pcipass::PermittedPciHostDevice &entry : objects.permitted_host_devices)
			permitted.push_back(pcipass::to_json(entry));

		separate();
		std::cout << "# KubeVirt VirtualMachine spec.template.spec.domain.devices.hostDevices\n"
			  << pcipass::detail::format_json(host_devices)
			  << "# KubeVirt spec.configuration.permittedHostDevices.pciHostDevices\n"
			  << pcipass::detail::format_json(permitted);
	}

	if (request.libvirt) {
		separate();
		std::cout << "# libvirt: virsh attach-device DOMAIN FILE, one <hostdev> per file\n";
		for (const std::string &hostdev : objects.libvirt_hostdevs)
			std::cout << hostdev;
	}
}

int run_objects(Context &context, const ObjectsOptions &options)
{
	/* Even without --json the output is JSON documents, which `kubectl apply -f -` reads. */
	context.use_json_output();

	auto request = make_request(options);
	if (!request)
		return report(request.error(), exit_usage);

	auto graph = scan(context);
	if (!graph)
		return report(graph.error());

	/* An address where the host has no PCI function is a usage error, as in the other commands. */
	auto objects = pcipass::build_objects(graph.value(), request.value());
	if (!objects)
		return report(objects.error(), objects.error().code == pcipass::errc::not_found
						       ? exit_usage
						       : exit_failed);

	if (context.json())
		std::cout << boost::json::serialize(pcipass::to_json(objects.value(), request.value()))
			  << "\n";
	else
		print_objects(objects.value(), request.value());

	return exit_ok;
}

int run_validate(Context &context, const ValidateOptions &options)
{
	auto claim = read_json(options.claim_file);
	if (!claim)
		return report(claim.error());

	pcipass::ClaimCheckOptions check_options;
	if (!options.pcidevice_file.empty()) {
		auto value = read_json(options.pcidevice_file);
		if (!value)
			return report(value.error());
		auto owner = pcipass::parse_pcidevice(value.value());
		if (!owner)
			return report(owner.error());
		check_options.owner = std::move(owner.value());
	}

	std::string node = options.node;
	if (node.empty()) {
		auto local = local_node_name();
		if (!local)
			return report(local.error());
		node = local.value();
	}

	auto graph = scan(context);
	if (!graph)
		return report(graph.error());

	const pcipass::ClaimCheck check =
		pcipass::validate_claim(claim.value(), graph.value(), node, check_options);

	if (context.json()) {
		std::cout << boost::json::serialize(pcipass::to_json(check)) << "\n";
	} else if (check.valid()) {
		std::cout << "claim is valid on node " << escape_text(node) << "\n";
	} else {
		for (const pcipass::ClaimProblem &problem : check.problems) {
			std::cout << problem.reason << ": " << escape_message(problem.message) << "\n";
			if (!problem.fix.is_null())
				std::cout << "  entry: " << boost::json::serialize(problem.fix) << "\n";
		}
	}

	return check.valid() ? exit_ok : exit_failed;
}

} /* namespace */

void register_object_commands(CLI::App &app, Context &context, int &status)
{
	auto objects_options = std::make_shared<ObjectsOptions>();
	CLI::App *objects = app.add_subcommand(
		"objects", "Print the PCIDeviceClaim for a device, and with options its PCIDevice, "
			   "the claims of its IOMMU group, KubeVirt entries and libvirt XML");
	objects->add_option("address", objects_options->address, "PCI address, DDDD:BB:DD.F")
		->required();
	objects->add_option("--node", objects_options->node, "Kubernetes node name")->required();
	objects->add_option("--uid", objects_options->uid,
			    "metadata.uid of the device's PCIDevice; without it there is no claim");
	objects->add_option("--sibling-uid", objects_options->sibling_uids,
			    "ADDR=UID: metadata.uid of the PCIDevice of another group member "
			    "(repeat per member; needed with --siblings)");
	objects->add_option("--user", objects_options->user, "spec.userName of the claims");
	objects->add_flag("--controller", objects_options->controller,
			  "Set controller: true in the owner reference");
	objects->add_flag("--block-owner-deletion", objects_options->block_owner_deletion,
			  "Set blockOwnerDeletion: true in the owner reference");
	objects->add_flag("--pcidevice", objects_options->pcidevice,
			  "Also print the PCIDevice objects");
	objects->add_flag("--siblings", objects_options->siblings,
			  "Cover every endpoint of the device's IOMMU group");
	objects->add_flag("--kubevirt", objects_options->kubevirt,
			  "Also print the KubeVirt hostDevices and permittedHostDevices entries");
	objects->add_flag("--libvirt", objects_options->libvirt,
			  "Also print a libvirt <hostdev> element per device");
	objects->callback([&context, &status, objects_options]() {
		status = run_objects(context, *objects_options);
	});

	auto validate_options = std::make_shared<ValidateOptions>();
	CLI::App *validate = app.add_subcommand(
		"validate-claim", "Check a PCIDeviceClaim offline against this node: owner "
				  "reference, node, device identity, IOMMU group, USB devices in use");
	validate->add_option("file", validate_options->claim_file,
			     "The claim as JSON (kubectl get pcideviceclaim NAME -o json), or - "
			     "for standard input")
		->required();
	validate->add_option("--node", validate_options->node,
			     "This node's name (default: the host name)");
	validate->add_option("--pcidevice", validate_options->pcidevice_file,
			     "The owning PCIDevice as JSON, to check its uid and device identity");
	validate->callback([&context, &status, validate_options]() {
		status = run_validate(context, *validate_options);
	});
}

} /* namespace pcipassctl */
