/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The C ABI's Kubernetes and libvirt objects, from JSON in to JSON out.
 */

#include <string>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <pcipass/claim.hpp>

#include "capi_internal.hpp"
#include "json_fields.hpp"

namespace pcipass::capi {

namespace {

result<ClaimOptions> parse_claim_options(const char *json)
{
	ClaimOptions options;
	if (!json)
		return options;

	BOOST_OUTCOME_TRY(auto value, parse_argument(json, "claim options"));

	BOOST_OUTCOME_TRY(auto object, detail::as_object(value, "claim options"));

	BOOST_OUTCOME_TRY(check_schema(*object, "pcipass.claim-options/v1"));

	BOOST_OUTCOME_TRY(auto user_name, detail::string_field(*object, "user_name", ""));

	BOOST_OUTCOME_TRY(options.controller, flag(*object, "controller"));

	BOOST_OUTCOME_TRY(options.block_owner_deletion, flag(*object, "block_owner_deletion"));

	options.user_name = user_name.value_or("");
	return options;
}

result<std::string> required_string(const boost::json::object &object, std::string_view key)
{
	BOOST_OUTCOME_TRY(auto value, detail::string_field(object, key, ""));

	if (!value)
		return make_error(errc::invalid_argument,
				  "objects request has no \"" + std::string(key) + "\"");
	return std::move(*value);
}

result<ObjectsRequest> parse_objects_request(const char *json)
{
	BOOST_OUTCOME_TRY(auto value, parse_argument(json, "objects request"));

	BOOST_OUTCOME_TRY(auto object, detail::as_object(value, "objects request"));

	BOOST_OUTCOME_TRY(check_schema(*object, "pcipass.objects-request/v1"));

	ObjectsRequest request;
	BOOST_OUTCOME_TRY(auto address, required_string(*object, "address"));

	BOOST_OUTCOME_TRY(request.address, PciAddress::parse(address));

	BOOST_OUTCOME_TRY(request.node, required_string(*object, "node"));

	BOOST_OUTCOME_TRY(auto uids, detail::object_field(*object, "uids", ""));
	if (!uids)
		return make_error(errc::invalid_argument,
				  "objects request has no \"uids\": map each address to the "
				  "metadata.uid of its PCIDevice");
	for (const auto &entry : *uids) {
		BOOST_OUTCOME_TRY(auto member, PciAddress::parse(std::string_view(entry.key())));

		BOOST_OUTCOME_TRY(auto uid, detail::string_field(*uids, entry.key(), "uids"));
		request.uids[member] = std::move(*uid);
	}

	BOOST_OUTCOME_TRY(auto user_name, detail::string_field(*object, "user_name", ""));
	request.claim.user_name = user_name.value_or("");

	BOOST_OUTCOME_TRY(request.claim.controller, flag(*object, "controller"));

	BOOST_OUTCOME_TRY(request.claim.block_owner_deletion, flag(*object, "block_owner_deletion"));

	BOOST_OUTCOME_TRY(request.siblings, flag(*object, "siblings"));

	BOOST_OUTCOME_TRY(request.pcidevices, flag(*object, "pcidevices"));

	BOOST_OUTCOME_TRY(request.kubevirt, flag(*object, "kubevirt"));

	BOOST_OUTCOME_TRY(request.libvirt, flag(*object, "libvirt"));

	return request;
}

/* PCIDevices from a JSON array or a Kubernetes List ({"items": [...]}). */
result<std::vector<PciDeviceObject>> parse_pcidevices(const char *json)
{
	BOOST_OUTCOME_TRY(auto value, parse_argument(json, "PCIDevice list"));

	const boost::json::array *items = value.if_array();
	if (const boost::json::object *list = value.if_object()) {
		BOOST_OUTCOME_TRY(items, detail::array_field(*list, "items", ""));
	}
	if (!items)
		return make_error(errc::invalid_argument,
				  "PCIDevice list must be a JSON array or a List with \"items\"");

	std::vector<PciDeviceObject> pcidevices;
	for (size_t i = 0; i < items->size(); i++) {
		auto pcidevice = parse_pcidevice((*items)[i]);
		if (!pcidevice) {
			Error error = pcidevice.error();
			error.message = "item " + std::to_string(i) + ": " + error.message;
			return error;
		}
		pcidevices.push_back(std::move(pcidevice).value());
	}

	return pcidevices;
}

} /* namespace */

} /* namespace pcipass::capi */

using namespace pcipass;

PCIPASS_EXPORT int pcipass_claim_from_pcidevice(const char *pcidevice_json,
						const char *options_json, char **claim_json,
						pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		constexpr std::string_view function = "pcipass_claim_from_pcidevice";
		if (!claim_json)
			return capi::null_argument(err, function, "claim_json");
		*claim_json = nullptr;
		if (!pcidevice_json)
			return capi::null_argument(err, function, "pcidevice_json");

		auto value = capi::parse_argument(pcidevice_json, "PCIDevice");
		if (!value)
			return capi::fail(err, value.error());

		auto pcidevice = parse_pcidevice(value.value());
		if (!pcidevice)
			return capi::fail(err, pcidevice.error());

		auto options = capi::parse_claim_options(options_json);
		if (!options)
			return capi::fail(err, options.error());

		auto claim = make_claim(pcidevice.value(), options.value());
		if (!claim)
			return capi::fail(err, claim.error());

		return capi::output(claim_json, to_json(claim.value()));
	});
}

PCIPASS_EXPORT int pcipass_objects_build(const pcipass_graph *graph, const char *request_json,
					 char **objects_json, pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		constexpr std::string_view function = "pcipass_objects_build";
		if (!objects_json)
			return capi::null_argument(err, function, "objects_json");
		*objects_json = nullptr;
		if (!graph)
			return capi::null_argument(err, function, "graph");
		if (!request_json)
			return capi::null_argument(err, function, "request_json");

		auto request = capi::parse_objects_request(request_json);
		if (!request)
			return capi::fail(err, request.error());

		auto objects = build_objects(graph->graph, request.value());
		if (!objects)
			return capi::fail(err, objects.error());

		return capi::output(objects_json, to_json(objects.value(), request.value()));
	});
}

PCIPASS_EXPORT int pcipass_kubevirt_entries(const char *pcidevices_json, char **entries_json,
					    pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		constexpr std::string_view function = "pcipass_kubevirt_entries";
		if (!entries_json)
			return capi::null_argument(err, function, "entries_json");
		*entries_json = nullptr;
		if (!pcidevices_json)
			return capi::null_argument(err, function, "pcidevices_json");

		auto pcidevices = capi::parse_pcidevices(pcidevices_json);
		if (!pcidevices)
			return capi::fail(err, pcidevices.error());

		boost::json::array host_devices;
		for (const PciDeviceObject &pcidevice : pcidevices.value())
			host_devices.push_back(to_json(kubevirt_host_device(pcidevice)));

		boost::json::array permitted;
		for (const PermittedPciHostDevice &entry : permitted_pci_host_devices(pcidevices.value()))
			permitted.push_back(to_json(entry));

		return capi::output(entries_json, boost::json::object{
							  {"schema", "pcipass.kubevirt/v1"},
							  {"hostDevices", std::move(host_devices)},
							  {"pciHostDevices", std::move(permitted)},
						  });
	});
}

PCIPASS_EXPORT int pcipass_libvirt_hostdev(const char *address, char **xml, pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		if (!xml)
			return capi::null_argument(err, "pcipass_libvirt_hostdev", "xml");
		*xml = nullptr;
		if (!address)
			return capi::null_argument(err, "pcipass_libvirt_hostdev", "address");

		auto parsed = PciAddress::parse(address);
		if (!parsed)
			return capi::fail(err, parsed.error());

		*xml = capi::copy_string(libvirt_hostdev_xml(parsed.value()));
		return PCIPASS_OK;
	});
}

PCIPASS_EXPORT int pcipass_claim_validate(const pcipass_graph *graph, const char *claim_json,
					  const char *node, const char *pcidevice_json,
					  char **report_json, pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		constexpr std::string_view function = "pcipass_claim_validate";
		if (!report_json)
			return capi::null_argument(err, function, "report_json");
		*report_json = nullptr;
		if (!graph)
			return capi::null_argument(err, function, "graph");
		if (!claim_json)
			return capi::null_argument(err, function, "claim_json");
		if (!node)
			return capi::null_argument(err, function, "node");

		auto claim = capi::parse_argument(claim_json, "PCIDeviceClaim");
		if (!claim)
			return capi::fail(err, claim.error());

		ClaimCheckOptions options;
		if (pcidevice_json) {
			auto value = capi::parse_argument(pcidevice_json, "PCIDevice");
			if (!value)
				return capi::fail(err, value.error());
			auto owner = parse_pcidevice(value.value());
			if (!owner)
				return capi::fail(err, owner.error());
			options.owner = std::move(owner).value();
		}

		const ClaimCheck check = validate_claim(claim.value(), graph->graph, node, options);
		return capi::output(report_json, to_json(check));
	});
}
