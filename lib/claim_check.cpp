/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Offline validation of a PCIDeviceClaim against this node's device graph.
 */

#include <pcipass/claim.hpp>

#include <algorithm>
#include <utility>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "json_fields.hpp"

namespace pcipass {

using detail::json_quote;

namespace {

class Checker
{
public:
	Checker(const DeviceList &devices, std::string_view node,
		const ClaimCheckOptions &options)
		: devices_(devices), node_(node), options_(options)
	{
	}

	ClaimCheck run(const boost::json::value &claim_json);

private:
	void add(errc code, std::string reason, std::string message, std::string device = {},
		 boost::json::value fix = nullptr)
	{
		check_.problems.push_back(
			{code, std::move(reason), std::move(message), std::move(device), std::move(fix)});
	}

	void check_owner_references(const PciDeviceClaim &claim, const std::string &owner_name);
	void check_device(const PciDeviceClaim &claim, PciAddress address);
	void check_identity(const Device &device);
	void check_group(const Device &device);

	const DeviceList &devices_;
	std::string node_;
	const ClaimCheckOptions &options_;
	ClaimCheck check_;
};

/* The instruction to obtain a uid that validation cannot know offline. */
std::string uid_hint(const std::string &owner_name)
{
	return " with uid set to the PCIDevice's metadata.uid (`kubectl get pcidevice " +
	       owner_name + " -o jsonpath='{.metadata.uid}'`)";
}

void Checker::check_owner_references(const PciDeviceClaim &claim, const std::string &owner_name)
{
	const std::vector<OwnerReference> &references = claim.owner_references;
	const auto found = std::find_if(references.begin(), references.end(),
					[](const OwnerReference &r) { return r.kind == "PCIDevice"; });

	/* The entry to add, with every value available offline. */
	OwnerReference expected;
	expected.name = owner_name;
	if (options_.owner && !options_.owner->uid.empty())
		expected.uid = options_.owner->uid;
	else if (found != references.end())
		expected.uid = found->uid;

	boost::json::object fix = to_json(expected);
	if (expected.uid.empty())
		fix.erase("uid");
	const std::string entry = boost::json::serialize(fix);
	const std::string hint = expected.uid.empty() ? uid_hint(owner_name) : "";

	if (found == references.end()) {
		add(errc::missing_owner_reference, "missing_owner_reference",
		    "claim " + json_quote(claim.name) +
			    " has no owner reference to its PCIDevice, so Harvester's controller "
			    "never processes it: add " + entry + hint +
			    " as the first entry of metadata.ownerReferences",
		    claim.address, std::move(fix));
		return;
	}

	const size_t index = static_cast<size_t>(found - references.begin());
	if (index != 0)
		add(errc::missing_owner_reference, "owner_reference_not_first",
		    "claim " + json_quote(claim.name) + " has its PCIDevice owner reference at "
			    "metadata.ownerReferences[" + std::to_string(index) + "], after a " +
			    json_quote(references.front().kind) + " " +
			    json_quote(references.front().name) + ": move " + entry + hint +
			    " to the first place",
		    claim.address, fix);

	std::vector<std::string> wrong;
	if (found->api_version != harvester_devices_api_version)
		wrong.push_back("apiVersion is " + json_quote(found->api_version) + ", not " +
				std::string(harvester_devices_api_version));
	if (found->name != owner_name)
		wrong.push_back("name is " + json_quote(found->name) + ", not the PCIDevice " +
				json_quote(owner_name));
	if (found->uid.empty())
		wrong.push_back("uid is empty");
	else if (options_.owner && !options_.owner->uid.empty() &&
		 found->uid != options_.owner->uid)
		wrong.push_back("uid is " + json_quote(found->uid) + ", but PCIDevice " +
				json_quote(owner_name) + " has uid " +
				json_quote(options_.owner->uid) +
				" (it was deleted and created again)");

	if (wrong.empty())
		return;

	std::string message = "the PCIDevice owner reference of claim " + json_quote(claim.name) +
			      " is wrong: ";
	for (size_t i = 0; i < wrong.size(); i++)
		message += (i ? "; " : "") + wrong[i];
	add(errc::missing_owner_reference, "owner_reference_invalid",
	    message + ": replace it with " + entry + hint, claim.address, std::move(fix));
}

void Checker::check_identity(const Device &device)
{
	const PciDeviceStatus &status = options_.owner->status;
	if (status.vendor_id.empty() || status.device_id.empty())
		return;

	auto vendor = VendorId::parse(status.vendor_id);
	auto product = DeviceId::parse(status.device_id);
	if (!vendor || !product) {
		add(errc::invalid_argument, "invalid_claim",
		    "PCIDevice " + json_quote(options_.owner->name) + " has a malformed status: " +
			    (!vendor ? vendor.error().message : product.error().message),
		    device.address.to_string());
		return;
	}
	if (vendor.value() == device.vendor && product.value() == device.device)
		return;

	const std::string expected = id_pair_string(vendor.value(), product.value());
	std::string message = device.address.to_string() + " contains " +
			      id_pair_string(device.vendor, device.device) + ", but PCIDevice " +
			      json_quote(options_.owner->name) + " recorded " + expected;

	std::vector<std::string> moved;
	for (const Device *other : devices_.devices())
		if (other->vendor == vendor.value() && other->device == product.value())
			moved.push_back(other->address.to_string());
	if (moved.empty())
		message += "; no device on this node has " + expected +
			   ": the PCIDevice is stale, let the controller rescan the node";
	else
		message += "; " + expected + " is now at " + moved.front() +
			   (moved.size() > 1 ? " (and " + std::to_string(moved.size() - 1) + " more)" : "") +
			   ": claim the PCIDevice of that address instead";

	add(errc::identity_mismatch, "identity_mismatch", std::move(message),
	    device.address.to_string());
}

void Checker::check_group(const Device &device)
{
	const std::string address = device.address.to_string();

	if (!device.iommu_group) {
		const auto &all = devices_.devices();
		const bool any_group = std::any_of(all.begin(), all.end(), [](const Device *other) {
			return other->iommu_group.has_value();
		});
		if (!any_group)
			add(errc::iommu_off, "iommu_off",
			    "the IOMMU is off on node " + json_quote(node_) + ", so " + address +
				    " has no IOMMU group and vfio-pci cannot take it: enable VT-d or "
				    "AMD-Vi in the firmware and add intel_iommu=on (Intel) or "
				    "amd_iommu=on (AMD) to the kernel command line",
			    address);
		else
			add(errc::no_iommu_group, "no_iommu_group",
			    address + " has no IOMMU group although the IOMMU is on, so vfio-pci "
				      "cannot take it: check that its bus is behind an IOMMU unit "
				      "(dmesg | grep -i -e DMAR -e IOMMU)",
			    address);
		return;
	}

	auto endpoints = group_endpoints(devices_, device.address);
	if (!endpoints)
		return;

	for (const Device *endpoint : endpoints.value()) {
		for (const Consumer &consumer : endpoint->consumers) {
			if (consumer.kind != ConsumerKind::usb_device)
				continue;

			const std::string what = consumer.description.empty()
							 ? "USB device " + consumer.name
							 : "USB device " + consumer.name + " (" +
								   consumer.description + ")";
			add(errc::device_in_use, "usb_device_in_use",
			    what + " is connected behind " + endpoint->address.to_string() +
				    " in IOMMU group " + std::to_string(*device.iommu_group) + " of " +
				    address + "; passing the group through disconnects it from the "
					      "host: unplug it or move it to another USB controller",
			    endpoint->address.to_string());
		}
	}
}

void Checker::check_device(const PciDeviceClaim &claim, PciAddress address)
{
	const Device *device = devices_.find(address);
	if (!device) {
		add(errc::not_found, "device_not_found",
		    "no PCI function at " + claim.address + " on node " + json_quote(node_) +
			    ": the device was removed or its address changed; list the devices "
			    "with lspci -D and claim the PCIDevice of the new address",
		    claim.address);
		return;
	}

	if (options_.owner)
		check_identity(*device);

	if (device->is_bridge()) {
		add(errc::bridge_requested, "bridge_requested",
		    claim.address + " is a bridge, and bridges cannot be passed through: claim "
				    "the endpoints behind it instead",
		    claim.address);
		return;
	}

	if (device->inaccessible)
		add(errc::device_inaccessible, "device_inaccessible",
		    claim.address + " reads all ones from its config space (powered down in "
				    "D3cold or removed): wake it or rescan the bus before claiming it",
		    claim.address);

	check_group(*device);
}

ClaimCheck Checker::run(const boost::json::value &claim_json)
{
	auto parsed = parse_claim(claim_json);
	if (!parsed) {
		add(errc::invalid_argument, "invalid_claim",
		    "not a valid PCIDeviceClaim: " + parsed.error().message);
		return std::move(check_);
	}
	const PciDeviceClaim &claim = parsed.value();

	auto address = PciAddress::parse(claim.address);
	if (!address) {
		add(errc::invalid_argument, "invalid_claim",
		    "spec.address of claim " + json_quote(claim.name) + " is not a PCI address: " +
			    address.error().message);
		return std::move(check_);
	}

	auto expected_name = pcidevice_name(claim.node_name, address.value());
	if (!expected_name) {
		add(errc::invalid_argument, "invalid_claim",
		    "spec.nodeName of claim " + json_quote(claim.name) + " is not a node name: " +
			    expected_name.error().message,
		    claim.address);
		return std::move(check_);
	}

	/* A PCIDevice from an older naming scheme keeps its own name. */
	const std::string owner_name = options_.owner ? options_.owner->name : expected_name.value();
	if (claim.name != owner_name)
		add(errc::invalid_argument, "name_mismatch",
		    "metadata.name of the claim is " + json_quote(claim.name) +
			    ", but it must equal the name of its PCIDevice, " + json_quote(owner_name),
		    claim.address);
	if (options_.owner && !options_.owner->status.address.empty() &&
	    options_.owner->status.address != address.value().to_string())
		add(errc::invalid_argument, "name_mismatch",
		    "spec.address of the claim is " + claim.address + ", but PCIDevice " +
			    json_quote(owner_name) + " is at " + options_.owner->status.address,
		    claim.address);

	check_owner_references(claim, owner_name);

	if (claim.node_name != node_) {
		add(errc::wrong_node, "wrong_node",
		    "claim " + json_quote(claim.name) + " is for node " +
			    json_quote(claim.node_name) + ", but this is node " + json_quote(node_) +
			    ": only the pcipass instance on " + json_quote(claim.node_name) +
			    " may act on it",
		    claim.address);
		return std::move(check_);
	}

	check_device(claim, address.value());
	return std::move(check_);
}

} /* namespace */

result<void> ClaimCheck::as_result() const
{
	if (problems.empty())
		return success();

	const ClaimProblem &first = problems.front();
	return make_error(first.code, first.message, first.device);
}

ClaimCheck validate_claim(const boost::json::value &claim, const DeviceList &devices,
			  std::string_view node, const ClaimCheckOptions &options)
{
	return Checker(devices, node, options).run(claim);
}

boost::json::object to_json(const ClaimCheck &check)
{
	boost::json::array problems;
	for (const ClaimProblem &problem : check.problems) {
		boost::json::object entry{
			{"reason", problem.reason},
			{"code", errc_name(problem.code)},
			{"message", problem.message},
			{"device", problem.device},
		};
		if (!problem.fix.is_null())
			entry["fix"] = problem.fix;
		problems.push_back(std::move(entry));
	}

	return boost::json::object{
		{"schema", "pcipass.claim-check/v1"},
		{"valid", check.valid()},
		{"problems", std::move(problems)},
	};
}

} /* namespace pcipass */
