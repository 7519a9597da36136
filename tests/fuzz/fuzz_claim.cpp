/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Fuzzes the JSON entry points of the objects layer, through the C ABI and
 * the C++ API: any input gives a status or a problem list, never a crash,
 * and every claim that comes out has exactly one owner reference.
 */

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>

#include <pcipass/claim.hpp>

#include "json_text.hpp"
#include "pcipass.h"

using namespace pcipass;

namespace {

constexpr const char *pcidevice =
	R"({"metadata": {"name": "n-000001000", "uid": "u"},
	    "status": {"address": "0000:01:00.0", "nodeName": "n"}})";

/* Aborts unless status is one of the allowed values and the output matches it. */
void check_status(int status, char *out, std::initializer_list<int> allowed)
{
	bool known = false;
	for (int value : allowed)
		known = known || status == value;
	if (!known || (status == PCIPASS_OK) != (out != nullptr))
		std::abort();
}

void check_claim_output(char *out)
{
	auto claim = parse_claim(std::string_view(out));
	if (!claim || claim.value().owner_references.size() != 1 ||
	    claim.value().owner_references[0].uid.empty())
		std::abort();
	pcipass_string_free(out);
}

std::vector<Device> node_devices()
{
	Device gpu;
	gpu.address = PciAddress(0, 1, 0, 0);
	gpu.vendor = VendorId(0x10de);
	gpu.device = DeviceId(0x1f02);
	gpu.class_code = ClassCode(0x030000);
	gpu.iommu_group = 1;
	return {gpu};
}

} /* namespace */

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The C ABI takes NUL-terminated strings; an embedded NUL ends the input early. */
	const std::string text(reinterpret_cast<const char *>(data), size);
	char *out = nullptr;

	int status = pcipass_claim_from_pcidevice(text.c_str(), nullptr, &out, nullptr);
	check_status(status, out,
		     {PCIPASS_OK, PCIPASS_E_INVALID_ARGUMENT, PCIPASS_E_MISSING_OWNER_REFERENCE});
	if (out)
		check_claim_output(out);

	status = pcipass_claim_from_pcidevice(pcidevice, text.c_str(), &out, nullptr);
	check_status(status, out, {PCIPASS_OK, PCIPASS_E_INVALID_ARGUMENT});
	if (out)
		check_claim_output(out);

	status = pcipass_kubevirt_entries(text.c_str(), &out, nullptr);
	check_status(status, out, {PCIPASS_OK, PCIPASS_E_INVALID_ARGUMENT});
	pcipass_string_free(out);

	auto value = detail::parse_json_strict(text, "input");
	if (!value)
		return 0;

	static const std::vector<Device> devices = node_devices();
	const ClaimCheck check = validate_claim(value.value(), devices, "n");
	if (check.valid()) {
		auto claim = parse_claim(value.value());
		if (!claim || claim.value().owner_references.empty() ||
		    claim.value().owner_references[0].kind != "PCIDevice" ||
		    claim.value().node_name != "n")
			std::abort();
	}

	return 0;
}
