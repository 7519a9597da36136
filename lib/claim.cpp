/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Harvester PCIDevice and PCIDeviceClaim objects, KubeVirt host device
 * entries and libvirt <hostdev> XML, built from graph data.
 */

#include <pcipass/claim.hpp>

#include <algorithm>
#include <utility>

#include <boost/json/array.hpp>

#include "json_fields.hpp"
#include "json_text.hpp"

namespace pcipass {

using detail::json_quote;

namespace {

/* Kubernetes limits, from k8s.io/apimachinery/pkg/util/validation. */
constexpr size_t max_dns_subdomain_length = 253;
constexpr size_t max_label_value_length = 63;

bool is_ascii_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* White space as RE2's \s matches it, which Harvester's product cleaning uses. */
bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

char to_upper(char c)
{
	return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

char to_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

/* Go's strings.TrimSpace also trims '\v', which \s does not match. */
std::string_view trim_space(std::string_view text)
{
	const auto edge = [](char c) { return is_space(c) || c == '\v'; };
	while (!text.empty() && edge(text.front()))
		text.remove_prefix(1);
	while (!text.empty() && edge(text.back()))
		text.remove_suffix(1);
	return text;
}

std::string keep_alnum(std::string_view text)
{
	std::string kept;
	for (char c : text)
		if (is_ascii_alnum(c))
			kept += c;
	return kept;
}

Error invalid_name(std::string_view what, std::string_view name, std::string_view rule)
{
	return make_error(errc::invalid_argument,
			  std::string(what) + " " + json_quote(name) + " is invalid: " +
				  std::string(rule));
}

/*
 * The text of the first bracketed part with at least one character, as
 * the pattern \[([^\]]+)\] finds it; empty when there is none.
 */
std::string_view first_bracketed(std::string_view text)
{
	for (size_t open = text.find('['); open != std::string_view::npos;
	     open = text.find('[', open + 1)) {
		const size_t close = text.find(']', open + 1);
		if (close == std::string_view::npos)
			return {};
		if (close > open + 1)
			return text.substr(open + 1, close - open - 1);
	}
	return {};
}

std::string vendor_part(std::string_view vendor_name)
{
	/* "Advanced Micro Devices, Inc. [AMD/ATI]" gives "amd"; "NVIDIA Corporation" gives "nvidia". */
	std::string_view base = first_bracketed(vendor_name);
	if (!base.empty()) {
		base = base.substr(0, base.find('/'));
	} else {
		base = trim_space(vendor_name);
		const auto end = std::find_if(base.begin(), base.end(), is_space);
		base = base.substr(0, static_cast<size_t>(end - base.begin()));
	}

	std::string vendor = keep_alnum(base);
	if (vendor.empty())
		vendor = "unknown";
	std::transform(vendor.begin(), vendor.end(), vendor.begin(), to_lower);

	return vendor + ".com";
}

std::string product_part(std::string_view device_name, DeviceId device_id)
{
	std::string product;
	bool in_space = false;
	for (char c : trim_space(device_name)) {
		if (is_space(c)) {
			if (!in_space)
				product += '_';
			in_space = true;
			continue;
		}
		in_space = false;

		if (c == '/' || c == '.')
			product += '_';
		else if (is_ascii_alnum(c) || c == '_')
			product += to_upper(c);
	}

	/* A trailing '_' breaks the Kubernetes rule that names end with a letter or digit. */
	while (!product.empty() &&
	       (product.back() == '_' || product.back() == '.' || product.back() == '-'))
		product.pop_back();

	if (product.empty())
		return device_id.to_string();

	return product;
}

size_t socket_path_length(std::string_view vendor, std::string_view product)
{
	/* KubeVirt names the socket after the resource with '/' replaced by '-'. */
	return device_plugin_directory.size() + std::string_view("kubevirt-").size() +
	       vendor.size() + 1 + product.size() + std::string_view(".sock").size();
}

std::string replace_all(std::string text, std::string_view from, std::string_view to)
{
	for (size_t at = text.find(from); at != std::string::npos;
	     at = text.find(from, at + to.size()))
		text.replace(at, from.size(), to);
	return text;
}

/* metadata.uid values are UUIDs in practice; reject only what cannot be one. */
result<void> check_uid(std::string_view uid, std::string_view pcidevice)
{
	const bool printable = std::all_of(uid.begin(), uid.end(), [](char c) {
		return c > ' ' && c < 0x7f;
	});
	if (!printable || uid.size() > 128)
		return make_error(errc::invalid_argument,
				  "uid " + json_quote(uid) + " of PCIDevice " + json_quote(pcidevice) +
					  " is invalid: expected the object's metadata.uid, "
					  "a UUID such as cb439de7-3145-4b0f-a64e-f34a4dec2059");
	return success();
}

void set_if(boost::json::object &object, std::string_view key, const std::optional<bool> &value)
{
	if (value)
		object[key] = *value;
}

result<OwnerReference> parse_owner_reference(const boost::json::value &value,
					     const std::string &path)
{
	BOOST_OUTCOME_TRY(auto object, detail::as_object(value, path));

	OwnerReference reference;
	BOOST_OUTCOME_TRY(auto api_version, detail::string_field(*object, "apiVersion", path));

	BOOST_OUTCOME_TRY(auto kind, detail::string_field(*object, "kind", path));

	BOOST_OUTCOME_TRY(auto name, detail::string_field(*object, "name", path));

	BOOST_OUTCOME_TRY(auto uid, detail::string_field(*object, "uid", path));

	BOOST_OUTCOME_TRY(auto controller, detail::bool_field(*object, "controller", path));

	BOOST_OUTCOME_TRY(auto block, detail::bool_field(*object, "blockOwnerDeletion", path));

	reference.api_version = api_version.value_or("");
	reference.kind = kind.value_or("");
	reference.name = name.value_or("");
	reference.uid = uid.value_or("");
	reference.controller = controller;
	reference.block_owner_deletion = block;
	return reference;
}

} /* namespace */

DeviceList::DeviceList(const DeviceGraph &graph)
{
	for (const Device &device : graph.devices())
		devices_.push_back(&device);
}

DeviceList::DeviceList(std::span<const Device> devices)
{
	for (const Device &device : devices)
		devices_.push_back(&device);
}

const Device *DeviceList::find(PciAddress address) const
{
	for (const Device *device : devices_)
		if (device->address == address)
			return device;
	return nullptr;
}

result<void> check_object_name(std::string_view name, std::string_view what)
{
	if (name.empty())
		return invalid_name(what, name, "it is empty");
	if (name.size() > max_dns_subdomain_length)
		return invalid_name(what, name,
				    "it has " + std::to_string(name.size()) +
					    " characters; Kubernetes object names allow at most 253");

	const bool allowed = std::all_of(name.begin(), name.end(), [](char c) {
		return is_lower_alnum(c) || c == '-' || c == '.';
	});
	if (!allowed || !is_lower_alnum(name.front()) || !is_lower_alnum(name.back()))
		return invalid_name(what, name,
				    "Kubernetes object names (DNS-1123 subdomains) hold only "
				    "lower-case letters, digits, '-' and '.', and start and end with "
				    "a letter or digit");

	return success();
}

result<void> check_label_value(std::string_view value, std::string_view what)
{
	if (value.empty())
		return success();
	if (value.size() > max_label_value_length)
		return invalid_name(what, value,
				    "it has " + std::to_string(value.size()) +
					    " characters; Kubernetes label values allow at most 63");

	const bool allowed = std::all_of(value.begin(), value.end(), [](char c) {
		return is_ascii_alnum(c) || c == '-' || c == '_' || c == '.';
	});
	if (!allowed || !is_ascii_alnum(value.front()) || !is_ascii_alnum(value.back()))
		return invalid_name(what, value,
				    "Kubernetes label values hold only letters, digits, '-', '_' "
				    "and '.', and start and end with a letter or digit");

	return success();
}

result<std::string> pcidevice_name(std::string_view node, PciAddress address)
{
	BOOST_OUTCOME_TRY(check_object_name(node, "node name"));

	std::string name = std::string(node) + "-";
	for (char c : address.to_string())
		if (c != ':' && c != '.')
			name += c;

	if (name.size() > max_dns_subdomain_length)
		return invalid_name("PCIDevice name", name,
				    "it has " + std::to_string(name.size()) +
					    " characters; Kubernetes object names allow at most 253, "
					    "so the node name may have at most " +
					    std::to_string(max_dns_subdomain_length -
							   (name.size() - node.size())));

	return name;
}

std::string resource_name(const Device &device)
{
	const std::string vendor = vendor_part(device.vendor_name);
	std::string product = product_part(device.device_name, device.device);

	if (socket_path_length(vendor, product) > max_device_plugin_socket_path)
		product = replace_all(product, "VIRTUAL_FUNCTION", "VF");
	if (socket_path_length(vendor, product) > max_device_plugin_socket_path)
		product = device.device.to_string();

	return vendor + "/" + product;
}

std::string pcidevice_description(const Device &device)
{
	const std::string vendor = device.vendor_name.empty()
					   ? "Vendor " + device.vendor.to_string()
					   : device.vendor_name;
	const std::string product = device.device_name.empty()
					    ? "Device " + device.device.to_string()
					    : device.device_name;

	return std::string(device.class_code.description()) + ": " + vendor + " " + product;
}

result<PciDeviceObject> make_pcidevice(const Device &device, std::string_view node)
{
	BOOST_OUTCOME_TRY(auto name, pcidevice_name(node, device.address));

	BOOST_OUTCOME_TRY(check_label_value(node, "node name (the value of the nodename label)"));

	PciDeviceObject pcidevice;
	pcidevice.name = std::move(name);
	pcidevice.driver_at_creation = device.driver.value_or("");

	PciDeviceStatus &status = pcidevice.status;
	status.address = device.address.to_string();
	status.vendor_id = device.vendor.to_string();
	status.device_id = device.device.to_string();
	status.class_id = device.class_code.class_subclass_string();
	if (device.iommu_group)
		status.iommu_group = std::to_string(*device.iommu_group);
	status.node_name = std::string(node);
	status.resource_name = resource_name(device);
	status.description = pcidevice_description(device);
	status.kernel_driver_in_use = device.driver.value_or("");

	return pcidevice;
}

boost::json::object to_json(const PciDeviceObject &pcidevice)
{
	boost::json::object metadata;
	metadata["name"] = pcidevice.name;
	if (!pcidevice.uid.empty())
		metadata["uid"] = pcidevice.uid;
	metadata["labels"] = boost::json::object{{pcidevice_node_label, pcidevice.status.node_name}};
	if (!pcidevice.driver_at_creation.empty())
		metadata["annotations"] = boost::json::object{
			{pcidevice_driver_annotation, pcidevice.driver_at_creation}};

	const PciDeviceStatus &status = pcidevice.status;
	boost::json::object status_json{
		{"address", status.address},
		{"vendorId", status.vendor_id},
		{"deviceId", status.device_id},
		{"classId", status.class_id},
		{"iommuGroup", status.iommu_group},
		{"nodeName", status.node_name},
		{"resourceName", status.resource_name},
		{"description", status.description},
	};
	/* Harvester omits kernelDriverInUse when it is empty. */
	if (!status.kernel_driver_in_use.empty())
		status_json["kernelDriverInUse"] = status.kernel_driver_in_use;

	return boost::json::object{
		{"apiVersion", harvester_devices_api_version},
		{"kind", "PCIDevice"},
		{"metadata", std::move(metadata)},
		{"spec", boost::json::object()},
		{"status", std::move(status_json)},
	};
}

result<PciDeviceObject> parse_pcidevice(const boost::json::value &value)
{
	BOOST_OUTCOME_TRY(auto object, detail::as_object(value, "PCIDevice"));

	BOOST_OUTCOME_TRY(detail::check_type_meta(*object, harvester_devices_api_version, "PCIDevice"));

	BOOST_OUTCOME_TRY(auto metadata, detail::object_field(*object, "metadata", ""));
	if (!metadata)
		return make_error(errc::invalid_argument, "PCIDevice has no metadata");

	BOOST_OUTCOME_TRY(auto name, detail::string_field(*metadata, "name", "metadata"));
	if (!name || name->empty())
		return make_error(errc::invalid_argument, "PCIDevice has no metadata.name");

	BOOST_OUTCOME_TRY(auto uid, detail::string_field(*metadata, "uid", "metadata"));

	BOOST_OUTCOME_TRY(auto annotations, detail::object_field(*metadata, "annotations", "metadata"));

	PciDeviceObject pcidevice;
	pcidevice.name = *name;
	pcidevice.uid = uid.value_or("");
	if (annotations) {
		BOOST_OUTCOME_TRY(auto driver, detail::string_field(*annotations,
								     pcidevice_driver_annotation,
								     "metadata.annotations"));
		pcidevice.driver_at_creation = driver.value_or("");
	}

	BOOST_OUTCOME_TRY(auto status_json, detail::object_field(*object, "status", ""));
	if (!status_json)
		return pcidevice;

	const std::pair<std::string_view, std::string PciDeviceStatus::*> fields[] = {
		{"address", &PciDeviceStatus::address},
		{"vendorId", &PciDeviceStatus::vendor_id},
		{"deviceId", &PciDeviceStatus::device_id},
		{"classId", &PciDeviceStatus::class_id},
		{"iommuGroup", &PciDeviceStatus::iommu_group},
		{"nodeName", &PciDeviceStatus::node_name},
		{"resourceName", &PciDeviceStatus::resource_name},
		{"description", &PciDeviceStatus::description},
		{"kernelDriverInUse", &PciDeviceStatus::kernel_driver_in_use},
	};
	for (const auto &[key, member] : fields) {
		BOOST_OUTCOME_TRY(auto field, detail::string_field(*status_json, key, "status"));
		pcidevice.status.*member = field.value_or("");
	}

	return pcidevice;
}

boost::json::object to_json(const OwnerReference &reference)
{
	boost::json::object object{
		{"apiVersion", reference.api_version},
		{"kind", reference.kind},
		{"name", reference.name},
		{"uid", reference.uid},
	};
	set_if(object, "controller", reference.controller);
	set_if(object, "blockOwnerDeletion", reference.block_owner_deletion);
	return object;
}

result<PciDeviceClaim> make_claim(const PciDeviceObject &pcidevice, const ClaimOptions &options)
{
	if (pcidevice.name.empty())
		return make_error(errc::missing_owner_reference,
				  "the PCIDevice has no metadata.name, so the claim cannot name its "
				  "owner: pass the PCIDevice as the API server returned it",
				  pcidevice.status.address);
	if (pcidevice.uid.empty())
		return make_error(errc::missing_owner_reference,
				  "PCIDevice " + json_quote(pcidevice.name) +
					  " has no metadata.uid, and Harvester never processes a claim "
					  "without an owner reference that carries it: read the uid back "
					  "with `kubectl get pcidevice " + pcidevice.name +
					  " -o jsonpath='{.metadata.uid}'`",
				  pcidevice.status.address);

	BOOST_OUTCOME_TRY(check_object_name(pcidevice.name, "PCIDevice name"));

	BOOST_OUTCOME_TRY(check_uid(pcidevice.uid, pcidevice.name));

	BOOST_OUTCOME_TRY(auto address, PciAddress::parse(pcidevice.status.address));

	if (pcidevice.status.node_name.empty())
		return make_error(errc::invalid_argument,
				  "PCIDevice " + json_quote(pcidevice.name) +
					  " has no status.nodeName: the pcidevices controller fills it in "
					  "when it creates the object",
				  address.to_string());
	BOOST_OUTCOME_TRY(check_object_name(pcidevice.status.node_name, "node name"));

	OwnerReference owner;
	owner.name = pcidevice.name;
	owner.uid = pcidevice.uid;
	if (options.controller)
		owner.controller = true;
	if (options.block_owner_deletion)
		owner.block_owner_deletion = true;

	PciDeviceClaim claim;
	claim.name = pcidevice.name;
	claim.owner_references.push_back(std::move(owner));
	claim.address = address.to_string();
	claim.node_name = pcidevice.status.node_name;
	claim.user_name = options.user_name;
	return claim;
}

result<PciDeviceClaim> make_claim(const Device &device, std::string_view node,
				  std::string_view pcidevice_uid, const ClaimOptions &options)
{
	BOOST_OUTCOME_TRY(auto pcidevice, make_pcidevice(device, node));

	pcidevice.uid = std::string(pcidevice_uid);
	return make_claim(pcidevice, options);
}

result<std::vector<const Device *>> group_endpoints(const DeviceList &devices,
						    PciAddress address)
{
	const Device *device = devices.find(address);
	if (!device)
		return make_error(errc::not_found,
				  "no PCI function at " + address.to_string() +
					  "; check the address with 'pcipassctl list'",
				  address.to_string());
	if (device->is_bridge())
		return make_error(errc::bridge_requested,
				  "bridges cannot be passed through, and " + address.to_string() +
					  " is one: claim the endpoints behind it instead",
				  address.to_string());

	if (!device->iommu_group)
		return std::vector<const Device *>{device};

	std::vector<const Device *> endpoints;
	for (const Device *member : devices.devices())
		if (member->iommu_group == device->iommu_group && !member->is_bridge())
			endpoints.push_back(member);
	std::sort(endpoints.begin(), endpoints.end(),
		  [](const Device *a, const Device *b) { return a->address < b->address; });

	return endpoints;
}

result<std::vector<PciDeviceClaim>> make_group_claims(const DeviceList &devices,
						      PciAddress address, std::string_view node,
						      const std::map<PciAddress, std::string> &uids,
						      const ClaimOptions &options)
{
	BOOST_OUTCOME_TRY(auto endpoints, group_endpoints(devices, address));

	std::string missing;
	for (const Device *endpoint : endpoints) {
		const auto uid = uids.find(endpoint->address);
		if (uid != uids.end() && !uid->second.empty())
			continue;

		BOOST_OUTCOME_TRY(auto name, pcidevice_name(node, endpoint->address));
		missing += (missing.empty() ? "" : ", ") + name;
	}
	if (!missing.empty())
		return make_error(errc::missing_owner_reference,
				  "the group of " + address.to_string() +
					  " needs a claim for every endpoint, each owned by its "
					  "PCIDevice, but the uid of these PCIDevices is missing: " +
					  missing + "; read each with `kubectl get pcidevice NAME -o "
					  "jsonpath='{.metadata.uid}'`",
				  address.to_string());

	std::vector<PciDeviceClaim> claims;
	for (const Device *endpoint : endpoints) {
		BOOST_OUTCOME_TRY(auto claim,
				  make_claim(*endpoint, node, uids.at(endpoint->address), options));
		claims.push_back(std::move(claim));
	}

	return claims;
}

boost::json::object to_json(const PciDeviceClaim &claim)
{
	boost::json::array owners;
	for (const OwnerReference &reference : claim.owner_references)
		owners.push_back(to_json(reference));

	return boost::json::object{
		{"apiVersion", harvester_devices_api_version},
		{"kind", "PCIDeviceClaim"},
		{"metadata", boost::json::object{
			{"name", claim.name},
			{"ownerReferences", std::move(owners)},
		}},
		{"spec", boost::json::object{
			{"address", claim.address},
			{"nodeName", claim.node_name},
			{"userName", claim.user_name},
		}},
	};
}

result<PciDeviceClaim> parse_claim(const boost::json::value &value)
{
	BOOST_OUTCOME_TRY(auto object, detail::as_object(value, "PCIDeviceClaim"));

	BOOST_OUTCOME_TRY(detail::check_type_meta(*object, harvester_devices_api_version,
						  "PCIDeviceClaim"));

	BOOST_OUTCOME_TRY(auto metadata, detail::object_field(*object, "metadata", ""));
	if (!metadata)
		return make_error(errc::invalid_argument, "PCIDeviceClaim has no metadata");

	BOOST_OUTCOME_TRY(auto name, detail::string_field(*metadata, "name", "metadata"));

	BOOST_OUTCOME_TRY(auto owners, detail::array_field(*metadata, "ownerReferences", "metadata"));

	BOOST_OUTCOME_TRY(auto spec, detail::object_field(*object, "spec", ""));
	if (!spec)
		return make_error(errc::invalid_argument, "PCIDeviceClaim has no spec");

	BOOST_OUTCOME_TRY(auto address, detail::string_field(*spec, "address", "spec"));

	BOOST_OUTCOME_TRY(auto node_name, detail::string_field(*spec, "nodeName", "spec"));

	BOOST_OUTCOME_TRY(auto user_name, detail::string_field(*spec, "userName", "spec"));

	PciDeviceClaim claim;
	claim.name = name.value_or("");
	claim.address = address.value_or("");
	claim.node_name = node_name.value_or("");
	claim.user_name = user_name.value_or("");

	if (owners) {
		for (size_t i = 0; i < owners->size(); i++) {
			const std::string path = "metadata.ownerReferences[" + std::to_string(i) + "]";
			BOOST_OUTCOME_TRY(auto reference, parse_owner_reference((*owners)[i], path));
			claim.owner_references.push_back(std::move(reference));
		}
	}

	return claim;
}

result<PciDeviceClaim> parse_claim(std::string_view json_text)
{
	BOOST_OUTCOME_TRY(auto value, detail::parse_json_strict(json_text, "PCIDeviceClaim"));

	return parse_claim(value);
}

} /* namespace pcipass */
