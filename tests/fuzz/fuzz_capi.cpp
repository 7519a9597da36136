/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Fuzzes the C ABI entry points that take JSON or text about a scanned
 * graph: pcipass_objects_build, pcipass_claim_validate and
 * pcipass_libvirt_hostdev, over the materialized GPU workstation.
 * Invariants:
 * - each returns one of its documented statuses, never PCIPASS_E_INTERNAL;
 * - it sets its output exactly on PCIPASS_OK, and otherwise an error object
 *   with the same code;
 * - what it returns is JSON of its schema;
 * - every claim built has exactly one owner reference, carrying the uid the
 *   request gave for its device;
 * - a claim check is valid exactly when it lists no problem.
 */

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <unistd.h>

#include <boost/json.hpp>

#include <pcipass/address.hpp>
#include <pcipass/claim.hpp>
#include <pcipass/testing/topology.hpp>

#include "invariant.hpp"
#include "pcipass.h"

using namespace pcipass;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

struct Workstation {
	fuzz::ScratchDirectory scratch{"pcipass-fuzz-capi"};
	pcipass_host *host = nullptr;
	pcipass_graph *graph = nullptr;

	Workstation()
	{
		auto topology = testing::load_topology(PCIPASS_SOURCE_DIR "/tests/topologies/gpu-workstation.json");
		fuzz::require(topology.has_value(), "the workstation topology loads");
		const std::string root = (scratch.path() / "root").string();
		fuzz::require(bool(testing::materialize(topology.value(), root)),
			      "the workstation materializes");
		fuzz::require(pcipass_host_open_live(root.c_str(), &host, nullptr) == PCIPASS_OK,
			      "the tree opens");
		fuzz::require(pcipass_graph_scan(host, &graph, nullptr) == PCIPASS_OK, "the tree scans");
	}

	~Workstation()
	{
		pcipass_graph_free(graph);
		pcipass_host_close(host);
	}
};

const Workstation &workstation()
{
	static const Workstation state;
	return state;
}

/* Checks status, output and error object; returns the output as JSON when there is one. */
json::value check_call(int status, char *out, pcipass_error *err, std::initializer_list<int> allowed,
		       std::string_view function)
{
	bool documented = false;
	for (int value : allowed)
		documented = documented || status == value;
	if (!documented)
		std::fprintf(stderr, "%.*s returned %s: %s\n", static_cast<int>(function.size()),
			     function.data(), pcipass_status_name(status),
			     err ? pcipass_error_message(err) : "(no error object)");
	fuzz::require(documented, "the status is one the header documents");
	fuzz::require((status == PCIPASS_OK) == (out != nullptr), "the output is set exactly on success");
	fuzz::require((status == PCIPASS_OK) == (err == nullptr), "the error is set exactly on failure");

	if (err) {
		fuzz::require(pcipass_error_code(err) == status, "the error carries the status");
		const char *message = pcipass_error_message(err);
		fuzz::require(message && *message, "the error has a message");
		pcipass_error_free(err);
		return nullptr;
	}

	boost::system::error_code ec;
	json::value value = json::parse(out, ec);
	pcipass_string_free(out);
	fuzz::require(!ec, "the output is JSON");
	return value;
}

/* The uid the request gives for address, or nothing when the request is not an object of strings. */
std::string requested_uid(std::string_view text, const std::string &address)
{
	boost::system::error_code ec;
	const json::value request = json::parse(text, ec);
	const json::object *object = ec ? nullptr : request.if_object();
	const json::value *uids = object ? object->if_contains("uids") : nullptr;
	if (!uids || !uids->is_object())
		return {};
	for (const auto &entry : uids->get_object()) {
		auto key = PciAddress::parse(std::string_view(entry.key()));
		if (key && key.value().to_string() == address && entry.value().is_string())
			return std::string(entry.value().get_string());
	}
	return {};
}

void check_objects(const std::string &text)
{
	char *out = nullptr;
	pcipass_error *err = nullptr;
	const int status = pcipass_objects_build(workstation().graph, text.c_str(), &out, &err);
	const json::value objects = check_call(status, out, err,
					       {PCIPASS_OK, PCIPASS_E_INVALID_ARGUMENT, PCIPASS_E_NOT_FOUND,
						PCIPASS_E_BRIDGE_REQUESTED,
						PCIPASS_E_MISSING_OWNER_REFERENCE},
					       "pcipass_objects_build");
	if (objects.is_null())
		return;

	const json::object *document = objects.if_object();
	fuzz::require(document && document->if_contains("schema") &&
			      document->at("schema") == "pcipass.objects/v1",
		      "objects carry their schema");
	const json::value *claims = document->if_contains("claims");
	fuzz::require(claims && claims->is_array() && !claims->get_array().empty(),
		      "objects hold at least one claim");

	for (const json::value &item : claims->get_array()) {
		auto claim = parse_claim(item);
		fuzz::require(claim.has_value(), "each claim built parses back");
		fuzz::require(claim.value().owner_references.size() == 1,
			      "each claim has exactly one owner reference");
		const std::string uid = requested_uid(text, claim.value().address);
		fuzz::require(!uid.empty() && claim.value().owner_references[0].uid == uid,
			      "the owner reference carries the requested uid");
	}
}

void check_validate(const std::string &text)
{
	for (const char *pcidevice : {static_cast<const char *>(nullptr), text.c_str()}) {
		char *out = nullptr;
		pcipass_error *err = nullptr;
		const int status = pcipass_claim_validate(workstation().graph, text.c_str(), "node1",
							  pcidevice, &out, &err);
		const json::value report = check_call(status, out, err,
						      {PCIPASS_OK, PCIPASS_E_INVALID_ARGUMENT},
						      "pcipass_claim_validate");
		if (report.is_null())
			continue;

		const json::object *document = report.if_object();
		fuzz::require(document && document->if_contains("valid") &&
				      document->at("valid").is_bool() && document->if_contains("problems") &&
				      document->at("problems").is_array(),
			      "a claim check has valid and problems");
		fuzz::require(document->at("valid").get_bool() == document->at("problems").get_array().empty(),
			      "a claim check is valid exactly without problems");
	}
}

void check_hostdev(const std::string &text)
{
	char *xml = nullptr;
	pcipass_error *err = nullptr;
	const int status = pcipass_libvirt_hostdev(text.c_str(), &xml, &err);
	const bool parses = bool(PciAddress::parse(std::string_view(text.c_str())));
	fuzz::require((status == PCIPASS_OK) == parses, "a hostdev is built exactly for a valid address");
	fuzz::require(status == PCIPASS_OK || status == PCIPASS_E_INVALID_ARGUMENT,
		      "hostdev errors are invalid_argument");
	fuzz::require((status == PCIPASS_OK) == (xml != nullptr), "the XML is set exactly on success");
	if (xml)
		fuzz::require(std::string_view(xml).starts_with("<hostdev "), "the XML is a hostdev element");
	pcipass_string_free(xml);
	pcipass_error_free(err);
}

} /* namespace */

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/*
	 * The C ABI takes NUL-terminated strings, so the library reads only the
	 * bytes before the first NUL. The invariants check those same bytes.
	 */
	const char *bytes = reinterpret_cast<const char *>(data);
	const std::string text(bytes, strnlen(bytes, size));

	check_objects(text);
	check_validate(text);
	check_hostdev(text);
	return 0;
}
