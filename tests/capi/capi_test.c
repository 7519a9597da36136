/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The C ABI used from C: compiled as C11 with -Wstrict-prototypes.
 * Usage: capi_test ROOT, where ROOT is the tree of tests/claim/workstation.json.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcipass.h>

static int failures;

#define CHECK(condition)                                                              \
	do {                                                                          \
		if (!(condition)) {                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
				#condition);                                          \
			failures++;                                                   \
		}                                                                     \
	} while (0)

static int contains(const char *text, const char *part)
{
	return text != NULL && strstr(text, part) != NULL;
}

/* strcmp that treats NULL as different from every string. */
static int equals(const char *text, const char *expected)
{
	return text != NULL && strcmp(text, expected) == 0;
}

static int count(const char *text, const char *part)
{
	int found = 0;
	for (const char *at = text; at != NULL && (at = strstr(at, part)) != NULL; at++)
		found++;
	return found;
}

static const char tekton_pcidevice[] =
	"{\"apiVersion\": \"devices.harvesterhci.io/v1beta1\", \"kind\": \"PCIDevice\","
	" \"metadata\": {\"name\": \"tekton28a-0000c1000\","
	" \"uid\": \"cb439de7-3145-4b0f-a64e-f34a4dec2059\"},"
	" \"status\": {\"address\": \"0000:c1:00.0\", \"nodeName\": \"tekton28a\","
	" \"vendorId\": \"10de\", \"deviceId\": \"24fa\","
	" \"resourceName\": \"nvidia.com/GA104_RTX_A4500_EMBEDDED_GPU\"}}";

static const char tekton_pcidevice_without_uid[] =
	"{\"metadata\": {\"name\": \"tekton28a-0000c1000\"},"
	" \"status\": {\"address\": \"0000:c1:00.0\", \"nodeName\": \"tekton28a\"}}";

static void test_version(void)
{
	CHECK(pcipass_version() == PCIPASS_VERSION);
	CHECK(pcipass_version() >> 16 == PCIPASS_VERSION_MAJOR);
	CHECK(PCIPASS_MAKE_VERSION(1, 2, 3) == 0x010203u);
}

static void test_status_names(void)
{
	CHECK(equals(pcipass_status_name(PCIPASS_OK), "ok"));
	CHECK(equals(pcipass_status_name(PCIPASS_E_MISSING_OWNER_REFERENCE),
		     "missing_owner_reference"));
	CHECK(equals(pcipass_status_name(PCIPASS_E_WRONG_NODE), "wrong_node"));
	CHECK(equals(pcipass_status_name(PCIPASS_E_INTERNAL), "internal"));
	CHECK(equals(pcipass_status_name(-1), "unknown"));
	CHECK(equals(pcipass_status_name(PCIPASS_E_INTERNAL + 1), "unknown"));

	for (int32_t status = PCIPASS_E_INVALID_ARGUMENT; status <= PCIPASS_E_INTERNAL; status++)
		CHECK(!equals(pcipass_status_name(status), "unknown"));
}

static void test_null_handling(void)
{
	CHECK(pcipass_error_code(NULL) == 0);
	CHECK(pcipass_error_errno(NULL) == 0);
	CHECK(pcipass_error_message(NULL) == NULL);
	CHECK(pcipass_error_device(NULL) == NULL);
	CHECK(pcipass_error_path(NULL) == NULL);
	CHECK(pcipass_error_step(NULL) == NULL);
	pcipass_error_free(NULL);
	pcipass_string_free(NULL);
	pcipass_host_close(NULL);
	pcipass_graph_free(NULL);

	char *out = (char *)"sentinel";
	pcipass_error *err = NULL;
	CHECK(pcipass_claim_from_pcidevice(NULL, NULL, &out, &err) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(out == NULL);
	CHECK(pcipass_error_code(err) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(contains(pcipass_error_message(err), "pcidevice_json is NULL"));
	pcipass_error_free(err);

	/* Without an out-pointer and without err: a status, no crash. */
	CHECK(pcipass_claim_from_pcidevice(tekton_pcidevice, NULL, NULL, NULL) ==
	      PCIPASS_E_INVALID_ARGUMENT);
	CHECK(pcipass_objects_build(NULL, "{}", &out, NULL) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(pcipass_claim_validate(NULL, "{}", "node", NULL, &out, NULL) ==
	      PCIPASS_E_INVALID_ARGUMENT);
	CHECK(pcipass_graph_scan(NULL, NULL, NULL) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(pcipass_graph_to_json(NULL, &out, NULL) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(pcipass_host_open_live("/", NULL, NULL) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(pcipass_libvirt_hostdev(NULL, &out, NULL) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(pcipass_kubevirt_entries(NULL, &out, NULL) == PCIPASS_E_INVALID_ARGUMENT);
}

/* S20: a claim has exactly one owner reference, and there is no claim without a uid. */
static void test_claim_owner_reference(void)
{
	char *claim = NULL;
	pcipass_error *err = (pcipass_error *)1;

	CHECK(pcipass_claim_from_pcidevice(tekton_pcidevice, NULL, &claim, &err) == PCIPASS_OK);
	CHECK(err == NULL);
	CHECK(contains(claim, "\"kind\":\"PCIDeviceClaim\""));
	CHECK(contains(claim, "\"metadata\":{\"name\":\"tekton28a-0000c1000\",\"ownerReferences\":[{"
			      "\"apiVersion\":\"devices.harvesterhci.io/v1beta1\",\"kind\":\"PCIDevice\","
			      "\"name\":\"tekton28a-0000c1000\","
			      "\"uid\":\"cb439de7-3145-4b0f-a64e-f34a4dec2059\"}]}"));
	CHECK(count(claim, "\"uid\"") == 1);
	CHECK(contains(claim, "\"spec\":{\"address\":\"0000:c1:00.0\",\"nodeName\":\"tekton28a\","
			      "\"userName\":\"\"}"));
	pcipass_string_free(claim);

	CHECK(pcipass_claim_from_pcidevice(
		      tekton_pcidevice,
		      "{\"schema\": \"pcipass.claim-options/v1\", \"user_name\": \"admin\","
		      " \"controller\": true}",
		      &claim, NULL) == PCIPASS_OK);
	CHECK(contains(claim, "\"controller\":true"));
	CHECK(!contains(claim, "blockOwnerDeletion"));
	CHECK(contains(claim, "\"userName\":\"admin\""));
	pcipass_string_free(claim);

	claim = (char *)"sentinel";
	CHECK(pcipass_claim_from_pcidevice(tekton_pcidevice_without_uid, NULL, &claim, &err) ==
	      PCIPASS_E_MISSING_OWNER_REFERENCE);
	CHECK(claim == NULL);
	CHECK(pcipass_error_code(err) == PCIPASS_E_MISSING_OWNER_REFERENCE);
	CHECK(pcipass_error_errno(err) == 0);
	CHECK(equals(pcipass_error_device(err), "0000:c1:00.0"));
	CHECK(equals(pcipass_error_path(err), ""));
	CHECK(contains(pcipass_error_message(err), "has no metadata.uid"));
	pcipass_error_free(err);
}

static void test_malformed_json(void)
{
	char *out = NULL;
	pcipass_error *err = NULL;

	CHECK(pcipass_claim_from_pcidevice("{\"metadata\":", NULL, &out, &err) ==
	      PCIPASS_E_INVALID_ARGUMENT);
	CHECK(out == NULL);
	CHECK(contains(pcipass_error_message(err), "line 1"));
	pcipass_error_free(err);

	CHECK(pcipass_claim_from_pcidevice("[]", NULL, &out, NULL) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(pcipass_claim_from_pcidevice(tekton_pcidevice, "{\"schema\": \"pcipass.claim-options/v2\"}",
					   &out, &err) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(contains(pcipass_error_message(err), "pcipass.claim-options/v1"));
	pcipass_error_free(err);

	CHECK(pcipass_claim_from_pcidevice(tekton_pcidevice, "{\"controller\": \"yes\"}", &out,
					   NULL) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(out == NULL);
}

static void test_libvirt_and_kubevirt(void)
{
	char *out = NULL;

	CHECK(pcipass_libvirt_hostdev("0000:01:00.1", &out, NULL) == PCIPASS_OK);
	CHECK(equals(out, "<hostdev mode='subsystem' type='pci' managed='no'>\n"
			  "  <source>\n"
			  "    <address domain='0x0000' bus='0x01' slot='0x00' function='0x1'/>\n"
			  "  </source>\n"
			  "</hostdev>\n"));
	pcipass_string_free(out);
	CHECK(pcipass_libvirt_hostdev("01:00", &out, NULL) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(out == NULL);

	/* Two PCIDevices of one model: two hostDevices, one permitted entry. */
	CHECK(pcipass_kubevirt_entries(
		      "{\"kind\": \"List\", \"items\": ["
		      "{\"metadata\": {\"name\": \"n-000001000\"}, \"status\": {\"vendorId\": \"10de\","
		      " \"deviceId\": \"1f02\", \"resourceName\": \"nvidia.com/TU106\"}},"
		      "{\"metadata\": {\"name\": \"n-000002000\"}, \"status\": {\"vendorId\": \"10de\","
		      " \"deviceId\": \"1f02\", \"resourceName\": \"nvidia.com/TU106\"}}]}",
		      &out, NULL) == PCIPASS_OK);
	CHECK(contains(out, "\"schema\":\"pcipass.kubevirt/v1\""));
	CHECK(contains(out, "\"hostDevices\":[{\"name\":\"n-000001000\",\"deviceName\":"
			    "\"nvidia.com/TU106\"},{\"name\":\"n-000002000\""));
	CHECK(contains(out, "\"pciHostDevices\":[{\"pciVendorSelector\":\"10de:1f02\","
			    "\"resourceName\":\"nvidia.com/TU106\",\"externalResourceProvider\":true}]"));
	pcipass_string_free(out);

	CHECK(pcipass_kubevirt_entries("{\"items\": [{}]}", &out, NULL) ==
	      PCIPASS_E_INVALID_ARGUMENT);
}

static void test_host_and_graph(const char *root)
{
	pcipass_host *host = NULL;
	pcipass_graph *graph = NULL;
	pcipass_error *err = NULL;
	char *out = NULL;

	CHECK(pcipass_host_open_live("/nonexistent/pcipass-root", &host, &err) ==
	      PCIPASS_E_NOT_FOUND);
	CHECK(host == NULL);
	CHECK(pcipass_error_errno(err) == ENOENT);
	pcipass_error_free(err);

	CHECK(pcipass_host_open_live(root, &host, &err) == PCIPASS_OK);
	CHECK(host != NULL);
	CHECK(pcipass_graph_scan(host, &graph, &err) == PCIPASS_OK);
	CHECK(graph != NULL);
	pcipass_host_close(host);
	if (graph == NULL)
		return;

	CHECK(pcipass_graph_to_json(graph, &out, NULL) == PCIPASS_OK);
	CHECK(contains(out, "{\"schema\":\"pcipass.graph/v1\""));
	CHECK(contains(out, "\"address\":\"0000:01:00.2\",\"vendor\":\"10de\",\"device\":\"1ada\""));
	CHECK(contains(out, "\"consumers\":[{\"kind\":\"usb_device\",\"name\":\"3-1\""));
	CHECK(contains(out, "\"number\":1,\"members\":[\"0000:00:01.0\",\"0000:01:00.0\","
			    "\"0000:01:00.1\",\"0000:01:00.2\"]"));
	pcipass_string_free(out);

	CHECK(pcipass_objects_build(graph,
				    "{\"schema\": \"pcipass.objects-request/v1\","
				    " \"address\": \"0000:02:00.0\", \"node\": \"ws1\","
				    " \"uids\": {\"0000:02:00.0\": \"uid-nic\"}, \"libvirt\": true}",
				    &out, &err) == PCIPASS_OK);
	CHECK(contains(out, "{\"schema\":\"pcipass.objects/v1\",\"claims\":[{"));
	CHECK(contains(out, "\"name\":\"ws1-000002000\",\"uid\":\"uid-nic\""));
	CHECK(contains(out, "\"libvirt\":[\"<hostdev"));
	CHECK(!contains(out, "pcidevices"));
	pcipass_string_free(out);

	/* The group of 0000:01:00.0 has three endpoints; the request names one uid. */
	CHECK(pcipass_objects_build(graph,
				    "{\"address\": \"0000:01:00.0\", \"node\": \"ws1\","
				    " \"uids\": {\"0000:01:00.0\": \"u\"}, \"siblings\": true}",
				    &out, &err) == PCIPASS_E_MISSING_OWNER_REFERENCE);
	CHECK(out == NULL);
	CHECK(contains(pcipass_error_message(err), "ws1-000001001, ws1-000001002"));
	pcipass_error_free(err);

	CHECK(pcipass_objects_build(graph, "{\"node\": \"ws1\", \"uids\": {}}", &out, &err) ==
	      PCIPASS_E_INVALID_ARGUMENT);
	CHECK(contains(pcipass_error_message(err), "no \"address\""));
	pcipass_error_free(err);

	/* S21: a valid claim for ws1 checked on ws2 is reported, not failed. */
	const char claim[] =
		"{\"apiVersion\": \"devices.harvesterhci.io/v1beta1\", \"kind\": \"PCIDeviceClaim\","
		" \"metadata\": {\"name\": \"ws1-000002000\", \"ownerReferences\": [{"
		"\"apiVersion\": \"devices.harvesterhci.io/v1beta1\", \"kind\": \"PCIDevice\","
		" \"name\": \"ws1-000002000\", \"uid\": \"uid-nic\"}]},"
		" \"spec\": {\"address\": \"0000:02:00.0\", \"nodeName\": \"ws1\", \"userName\": \"\"}}";
	CHECK(pcipass_claim_validate(graph, claim, "ws1", NULL, &out, NULL) == PCIPASS_OK);
	CHECK(contains(out, "\"valid\":true,\"problems\":[]"));
	pcipass_string_free(out);

	CHECK(pcipass_claim_validate(graph, claim, "ws2", NULL, &out, NULL) == PCIPASS_OK);
	CHECK(contains(out, "\"valid\":false"));
	CHECK(contains(out, "\"reason\":\"wrong_node\",\"code\":\"wrong_node\""));
	pcipass_string_free(out);

	CHECK(pcipass_claim_validate(graph, "{", "ws1", NULL, &out, &err) ==
	      PCIPASS_E_INVALID_ARGUMENT);
	CHECK(out == NULL);
	pcipass_error_free(err);

	pcipass_graph_free(graph);
}

static int lines_logged;

static void count_lines(void *userdata, int32_t level, int32_t category, const char *message)
{
	(void)level;
	(void)category;
	(void)message;
	lines_logged += *(int *)userdata;
}

static void test_log_sink(void)
{
	int increment = 1;
	pcipass_error *err = NULL;

	CHECK(pcipass_set_log_sink(count_lines, &increment, 0, &err) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(contains(pcipass_error_message(err), "level 0 is invalid"));
	pcipass_error_free(err);

	CHECK(pcipass_set_log_sink(count_lines, &increment, PCIPASS_LOG_DEBUG, &err) == PCIPASS_OK);
	CHECK(err == NULL);
	CHECK(pcipass_set_log_sink(NULL, NULL, PCIPASS_LOG_INFO, NULL) == PCIPASS_OK);

	CHECK(equals(pcipass_log_category_name(PCIPASS_LOG_CATEGORY_CLAIM), "Claim"));
	CHECK(equals(pcipass_log_category_name(PCIPASS_LOG_CATEGORY_SIM), "Sim"));
	CHECK(pcipass_log_category_name(0) == NULL);
	CHECK(pcipass_log_category_name(PCIPASS_LOG_CATEGORY_SIM + 1) == NULL);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s ROOT\n", argv[0]);
		return 2;
	}

	test_version();
	test_status_names();
	test_null_handling();
	test_claim_owner_reference();
	test_malformed_json();
	test_libvirt_and_kubevirt();
	test_host_and_graph(argv[1]);
	test_log_sink();

	if (failures != 0) {
		fprintf(stderr, "%d checks failed\n", failures);
		return 1;
	}
	printf("all checks passed\n");
	return 0;
}
