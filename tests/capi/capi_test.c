/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The C ABI used from C: compiled as C11 with -Wstrict-prototypes.
 * Usage: capi_test ROOT TOPOLOGY WORKDIR, where ROOT is the tree of
 * tests/claim/workstation.json, TOPOLOGY is tests/topologies/gpu-workstation.json
 * and WORKDIR an empty directory for state directories and trees.
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

/* The whole file as a NUL-terminated string, or NULL. */
static char *read_file(const char *path)
{
	FILE *file = fopen(path, "rb");
	if (file == NULL)
		return NULL;

	char *text = NULL;
	if (fseek(file, 0, SEEK_END) == 0) {
		long size = ftell(file);
		if (size >= 0 && fseek(file, 0, SEEK_SET) == 0) {
			text = malloc((size_t)size + 1);
			if (text != NULL && fread(text, 1, (size_t)size, file) != (size_t)size) {
				free(text);
				text = NULL;
			} else if (text != NULL) {
				text[size] = '\0';
			}
		}
	}
	fclose(file);
	return text;
}

static void join_path(char *out, size_t size, const char *dir, const char *name)
{
	snprintf(out, size, "%s/%s", dir, name);
}

static const char gpu_request[] =
	"{\"schema\": \"pcipass.request/v1\", \"devices\": [\"0000:01:00.0\"],"
	" \"owner\": \"vm-42\", \"options\": {\"deadlines\": {\"write_ms\": 2000}}}";

static const char *const gpu_functions[] = {"0000:01:00.0", "0000:01:00.1", "0000:01:00.2",
					    "0000:01:00.3"};

struct step_counts {
	int started;
	int done;
	int failed;
	int undo;
	int schema;
};

static void count_steps(void *userdata, const char *step_json)
{
	struct step_counts *counts = userdata;

	counts->schema += contains(step_json, "{\"schema\":\"pcipass.step/v1\"");
	counts->started += contains(step_json, "\"status\":\"started\"");
	counts->done += contains(step_json, "\"status\":\"done\"");
	counts->failed += contains(step_json, "\"status\":\"failed\"");
	counts->undo += contains(step_json, "\"undo\":true");
}

/* Whether the state shows the device on driver with the override (NULL: none). */
static int device_state(const char *state, const char *address, const char *driver,
			const char *override)
{
	char expected[256];
	if (override != NULL)
		snprintf(expected, sizeof(expected),
			 "{\"address\":\"%s\",\"driver\":\"%s\",\"driver_override\":\"%s\",", address,
			 driver, override);
	else
		snprintf(expected, sizeof(expected),
			 "{\"address\":\"%s\",\"driver\":\"%s\",\"driver_override\":null,", address,
			 driver);
	return contains(state, expected);
}

static char *sim_state(pcipass_host *host)
{
	char *state = NULL;
	CHECK(pcipass_sim_state(host, &state, NULL) == PCIPASS_OK);
	return state;
}

static void test_sim_null_handling(void)
{
	pcipass_host *host = (pcipass_host *)1;
	pcipass_engine *engine = (pcipass_engine *)1;
	pcipass_watcher *watcher = (pcipass_watcher *)1;
	pcipass_error *err = NULL;
	char *out = (char *)"sentinel";
	uint32_t id = 99;
	int32_t fd = 99;

	CHECK(pcipass_sim_new(NULL, NULL, &host, &err) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(host == NULL);
	CHECK(contains(pcipass_error_message(err), "topology_json is NULL"));
	pcipass_error_free(err);
	CHECK(pcipass_sim_new("{}", NULL, NULL, NULL) == PCIPASS_E_INVALID_ARGUMENT);

	CHECK(pcipass_sim_inject(NULL, "{}", &id, NULL) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(id == 0);
	CHECK(pcipass_sim_remove_fault(NULL, 1, NULL) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(pcipass_sim_release_fault(NULL, 1, NULL) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(pcipass_sim_clear_faults(NULL, NULL) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(pcipass_sim_fault_hits(NULL, 1, &id, NULL) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(pcipass_sim_state(NULL, &out, NULL) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(out == NULL);
	CHECK(pcipass_sim_log(NULL, &out, NULL) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(pcipass_sim_to_topology(NULL, &out, NULL) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(pcipass_sim_materialize(NULL, "/nonexistent", NULL) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(pcipass_sim_open_node(NULL, "dev/vfio/7", 1, "qemu", NULL) ==
	      PCIPASS_E_INVALID_ARGUMENT);
	CHECK(pcipass_sim_close_node(NULL, "dev/vfio/7", 1, NULL) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(pcipass_sim_unload_module(NULL, "vfio_pci", NULL) == PCIPASS_E_INVALID_ARGUMENT);

	CHECK(pcipass_engine_open(NULL, "/nonexistent", &engine, NULL) ==
	      PCIPASS_E_INVALID_ARGUMENT);
	CHECK(engine == NULL);
	pcipass_engine_close(NULL);
	CHECK(pcipass_engine_plan(NULL, PCIPASS_OPERATION_BIND, gpu_request, &out, NULL) ==
	      PCIPASS_E_INVALID_ARGUMENT);
	CHECK(pcipass_engine_bind(NULL, gpu_request, NULL, NULL, &out, NULL) ==
	      PCIPASS_E_INVALID_ARGUMENT);
	CHECK(pcipass_engine_release(NULL, gpu_request, NULL, NULL, &out, NULL) ==
	      PCIPASS_E_INVALID_ARGUMENT);
	CHECK(pcipass_engine_recover(NULL, NULL, NULL, NULL, &out, NULL) ==
	      PCIPASS_E_INVALID_ARGUMENT);
	CHECK(pcipass_engine_reconcile(NULL, "{}", NULL, NULL, &out, NULL) ==
	      PCIPASS_E_INVALID_ARGUMENT);
	CHECK(pcipass_engine_ownerships(NULL, &out, NULL) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(pcipass_engine_bind(NULL, gpu_request, NULL, NULL, NULL, NULL) ==
	      PCIPASS_E_INVALID_ARGUMENT);
	CHECK(out == NULL);

	CHECK(pcipass_watcher_open(NULL, NULL, NULL) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(pcipass_watcher_open("{\"source\": \"netlink\"}", &watcher, &err) ==
	      PCIPASS_E_INVALID_ARGUMENT);
	CHECK(watcher == NULL);
	CHECK(contains(pcipass_error_message(err), "use \"kernel\" or \"udev\""));
	pcipass_error_free(err);
	pcipass_watcher_close(NULL);
	CHECK(pcipass_watcher_fd(NULL, &fd, NULL) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(fd == -1);
	CHECK(pcipass_watcher_next(NULL, 0, &out, NULL) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(pcipass_watcher_run(NULL, 0, NULL, NULL, NULL) == PCIPASS_E_INVALID_ARGUMENT);
}

/* A live host is a host but not a simulated kernel. */
static void test_sim_rejects_live_host(const char *root)
{
	pcipass_host *live = NULL;
	pcipass_error *err = NULL;
	char *out = NULL;

	CHECK(pcipass_host_open_live(root, &live, NULL) == PCIPASS_OK);
	CHECK(pcipass_sim_state(live, &out, &err) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(out == NULL);
	CHECK(contains(pcipass_error_message(err), "not a simulated kernel"));
	pcipass_error_free(err);
	CHECK(pcipass_sim_clear_faults(live, NULL) == PCIPASS_E_INVALID_ARGUMENT);
	pcipass_host_close(live);
}

static void test_bind_and_release(pcipass_host *sim, pcipass_engine *engine, const char *initial)
{
	struct step_counts counts = {0, 0, 0, 0, 0};
	pcipass_error *err = NULL;
	char *out = NULL;

	CHECK(pcipass_engine_plan(engine, PCIPASS_OPERATION_BIND, gpu_request, &out, &err) ==
	      PCIPASS_OK);
	CHECK(contains(out, "{\"schema\":\"pcipass.plan/v1\",\"operation\":\"bind\""));
	CHECK(contains(out, "\"blocked\":false,\"groups\":[7]"));
	CHECK(count(out, "\"action\":\"move\"") == 4);
	pcipass_string_free(out);

	CHECK(pcipass_engine_plan(engine, 3, gpu_request, &out, &err) ==
	      PCIPASS_E_INVALID_ARGUMENT);
	CHECK(out == NULL);
	pcipass_error_free(err);

	CHECK(pcipass_engine_bind(engine, gpu_request, count_steps, &counts, &out, &err) ==
	      PCIPASS_OK);
	CHECK(err == NULL);
	CHECK(contains(out, "{\"schema\":\"pcipass.result/v1\",\"operation\":\"bind\""));
	CHECK(contains(out, "\"outcome\":\"committed\""));
	CHECK(contains(out, "\"owner\":\"vm-42\""));
	CHECK(contains(out, "\"groups\":[7]"));
	CHECK(contains(out, "\"error\":null"));
	CHECK(counts.started > 0);
	CHECK(counts.started == counts.done);
	CHECK(counts.schema == counts.started + counts.done);
	CHECK(counts.failed == 0);
	CHECK(counts.undo == 0);
	CHECK(count(out, "\"status\":\"done\"") == counts.done);
	pcipass_string_free(out);

	char *state = sim_state(sim);
	for (size_t i = 0; i < sizeof(gpu_functions) / sizeof(gpu_functions[0]); i++)
		CHECK(device_state(state, gpu_functions[i], "vfio-pci", "vfio-pci"));
	CHECK(device_state(state, "0000:00:14.0", "xhci_hcd", NULL));
	CHECK(contains(state, "\"vfio_nodes\":[7]"));
	pcipass_string_free(state);

	CHECK(pcipass_engine_ownerships(engine, &out, NULL) == PCIPASS_OK);
	CHECK(count(out, "\"owner\":\"vm-42\"") == 4);
	CHECK(contains(out, "\"device\":\"0000:01:00.2\",\"owner\":\"vm-42\",\"driver\":\"vfio-pci\""));
	pcipass_string_free(out);

	/* The simulated kernel works wherever a host does: the graph shows the new drivers. */
	pcipass_graph *graph = NULL;
	CHECK(pcipass_graph_scan(sim, &graph, NULL) == PCIPASS_OK);
	CHECK(pcipass_graph_to_json(graph, &out, NULL) == PCIPASS_OK);
	CHECK(contains(out, "\"address\":\"0000:01:00.0\""));
	CHECK(count(out, "\"driver\":\"vfio-pci\"") == 4);
	pcipass_string_free(out);
	pcipass_graph_free(graph);

	/* A VFIO user holds the group: release is refused without a write. */
	CHECK(pcipass_sim_open_node(sim, "dev/vfio/7", 4242, "qemu-system-x86", NULL) == PCIPASS_OK);
	CHECK(pcipass_engine_release(engine, gpu_request, NULL, NULL, &out, &err) ==
	      PCIPASS_E_DEVICE_IN_USE);
	CHECK(out == NULL);
	CHECK(contains(pcipass_error_message(err), "4242"));
	pcipass_error_free(err);
	CHECK(pcipass_sim_close_node(sim, "dev/vfio/7", 4242, NULL) == PCIPASS_OK);
	CHECK(pcipass_sim_close_node(sim, "dev/vfio/7", 4242, NULL) == PCIPASS_E_NOT_FOUND);

	CHECK(pcipass_engine_release(engine, gpu_request, NULL, NULL, &out, &err) == PCIPASS_OK);
	CHECK(contains(out, "\"operation\":\"release\""));
	CHECK(contains(out, "\"outcome\":\"committed\""));
	pcipass_string_free(out);

	state = sim_state(sim);
	CHECK(equals(state, initial));
	pcipass_string_free(state);

	CHECK(pcipass_engine_ownerships(engine, &out, NULL) == PCIPASS_OK);
	CHECK(equals(out, "{\"schema\":\"pcipass.ownerships/v1\",\"ownerships\":[]}"));
	pcipass_string_free(out);
}

/* EBUSY on the xHCI function's bind to vfio-pci: the whole group rolls back. */
static void test_rollback_after_fault(pcipass_host *sim, pcipass_engine *engine,
				      const char *initial)
{
	struct step_counts counts = {0, 0, 0, 0, 0};
	pcipass_error *err = NULL;
	char *out = (char *)"sentinel";
	uint32_t fault = 0;
	uint32_t hits = 0;

	CHECK(pcipass_sim_inject(sim,
				 "{\"schema\": \"pcipass.fault/v1\", \"match\": {\"device\": "
				 "\"0000:01:00.2\", \"path\": \"sys/bus/pci/drivers/vfio-pci/bind\"},"
				 " \"action\": \"fail\", \"errno\": \"EBUSY\"}",
				 &fault, &err) == PCIPASS_OK);
	CHECK(err == NULL);
	CHECK(fault != 0);

	CHECK(pcipass_engine_bind(engine, gpu_request, count_steps, &counts, &out, &err) ==
	      PCIPASS_E_BIND_FAILED);
	CHECK(out == NULL);
	CHECK(pcipass_error_code(err) == PCIPASS_E_BIND_FAILED);
	CHECK(pcipass_error_errno(err) == EBUSY);
	CHECK(equals(pcipass_error_device(err), "0000:01:00.2"));
	CHECK(equals(pcipass_error_path(err), "sys/bus/pci/drivers/vfio-pci/bind"));
	CHECK(contains(pcipass_error_step(err), "bind 0000:01:00.2 to vfio-pci"));
	CHECK(contains(pcipass_error_message(err), "rolled back"));
	pcipass_error_free(err);
	CHECK(counts.failed == 1);
	CHECK(counts.undo > 0);

	CHECK(pcipass_sim_fault_hits(sim, fault, &hits, NULL) == PCIPASS_OK);
	CHECK(hits == 1);

	char *state = sim_state(sim);
	CHECK(equals(state, initial));
	pcipass_string_free(state);

	CHECK(pcipass_sim_log(sim, &out, NULL) == PCIPASS_OK);
	CHECK(contains(out, "{\"schema\":\"pcipass.sim-log/v1\",\"entries\":[{\"sequence\":1,"));
	CHECK(contains(out, "\"errno\":16,\"errno_name\":\"EBUSY\",\"rule\":\"fault.failed\""));
	pcipass_string_free(out);

	CHECK(pcipass_sim_remove_fault(sim, fault, NULL) == PCIPASS_OK);
	CHECK(pcipass_sim_remove_fault(sim, fault, NULL) == PCIPASS_E_NOT_FOUND);

	/* The rollback finished the journal: recovery has nothing to do. */
	CHECK(pcipass_engine_recover(engine, NULL, NULL, NULL, &out, NULL) == PCIPASS_OK);
	CHECK(contains(out, "\"outcome\":\"no_change\""));
	CHECK(contains(out, "\"writes\":0"));
	pcipass_string_free(out);
}

static void test_reconcile(pcipass_host *sim, pcipass_engine *engine, const char *initial)
{
	char *out = NULL;

	CHECK(pcipass_engine_reconcile(engine,
				       "{\"schema\": \"pcipass.desired/v1\", \"desired\": [{"
				       "\"device\": \"0000:01:00.0\", \"driver\": \"vfio-pci\","
				       " \"owner\": \"vm-7\"}]}",
				       NULL, NULL, &out, NULL) == PCIPASS_OK);
	CHECK(contains(out, "\"operation\":\"reconcile\""));
	CHECK(contains(out, "\"outcome\":\"committed\""));
	pcipass_string_free(out);

	char *state = sim_state(sim);
	CHECK(device_state(state, "0000:01:00.2", "vfio-pci", "vfio-pci"));
	pcipass_string_free(state);

	/* A null driver requests the state before the claim. */
	CHECK(pcipass_engine_reconcile(engine,
				       "{\"desired\": [{\"device\": \"0000:01:00.0\", \"driver\": null,"
				       " \"owner\": \"vm-7\"}]}",
				       NULL, NULL, &out, NULL) == PCIPASS_OK);
	CHECK(contains(out, "\"outcome\":\"committed\""));
	pcipass_string_free(out);

	state = sim_state(sim);
	CHECK(equals(state, initial));
	pcipass_string_free(state);

	/* The same desired state again writes nothing. */
	CHECK(pcipass_engine_reconcile(engine,
				       "{\"desired\": [{\"device\": \"0000:01:00.0\", \"driver\": null,"
				       " \"owner\": \"vm-7\"}]}",
				       NULL, NULL, &out, NULL) == PCIPASS_OK);
	CHECK(contains(out, "\"outcome\":\"no_change\""));
	CHECK(contains(out, "\"writes\":0"));
	pcipass_string_free(out);
}

static void test_request_errors(pcipass_engine *engine)
{
	pcipass_error *err = NULL;
	char *out = (char *)"sentinel";

	CHECK(pcipass_engine_bind(engine, "{\"devices\": [\"0000:01:00.0\"], \"ownr\": \"x\"}", NULL,
				  NULL, &out, &err) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(out == NULL);
	CHECK(contains(pcipass_error_message(err), "unknown field \"ownr\""));
	pcipass_error_free(err);

	CHECK(pcipass_engine_bind(engine, "{\"devices\": []}", NULL, NULL, &out, &err) ==
	      PCIPASS_E_INVALID_ARGUMENT);
	CHECK(contains(pcipass_error_message(err), "no \"devices\""));
	pcipass_error_free(err);

	CHECK(pcipass_engine_bind(engine, "{\"schema\": \"pcipass.request/v2\", \"devices\": []}",
				  NULL, NULL, &out, &err) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(contains(pcipass_error_message(err), "pcipass.request/v1"));
	pcipass_error_free(err);

	CHECK(pcipass_engine_bind(engine,
				  "{\"devices\": [\"0000:01:00.0\"], \"options\": {\"deadlines\":"
				  " {\"write_ms\": 0}}}",
				  NULL, NULL, &out, &err) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(contains(pcipass_error_message(err), "request.options.deadlines.write_ms"));
	pcipass_error_free(err);

	/* 0000:01:00.0 is a 10de:1f02, so a request for another identity is rejected. */
	CHECK(pcipass_engine_bind(engine,
				  "{\"devices\": [{\"address\": \"0000:01:00.0\","
				  " \"expected\": \"10de:2204\"}]}",
				  NULL, NULL, &out, &err) == PCIPASS_E_IDENTITY_MISMATCH);
	CHECK(equals(pcipass_error_device(err), "0000:01:00.0"));
	pcipass_error_free(err);

	CHECK(pcipass_engine_bind(engine, "{\"devices\": [\"0000:00:01.0\"]}", NULL, NULL, &out,
				  NULL) == PCIPASS_E_BRIDGE_REQUESTED);
	CHECK(out == NULL);
}

static void test_topology_round_trip(pcipass_host *sim, const char *initial, const char *work)
{
	char *topology = NULL;
	char tree[4096];
	pcipass_host *copy = NULL;
	pcipass_error *err = NULL;

	CHECK(pcipass_sim_to_topology(sim, &topology, NULL) == PCIPASS_OK);
	CHECK(contains(topology, "\"schema\": \"pcipass.topology/v1\""));
	CHECK(pcipass_sim_new(topology, "{\"record_log\": false}", &copy, &err) == PCIPASS_OK);
	pcipass_string_free(topology);

	char *state = sim_state(copy);
	CHECK(equals(state, initial));
	pcipass_string_free(state);

	char *log = NULL;
	CHECK(pcipass_sim_log(copy, &log, NULL) == PCIPASS_OK);
	CHECK(equals(log, "{\"schema\":\"pcipass.sim-log/v1\",\"entries\":[]}"));
	pcipass_string_free(log);

	join_path(tree, sizeof(tree), work, "tree");
	CHECK(pcipass_sim_materialize(copy, tree, &err) == PCIPASS_OK);
	pcipass_error_free(err);
	CHECK(pcipass_sim_materialize(copy, tree, NULL) == PCIPASS_E_INVALID_ARGUMENT);
	pcipass_host_close(copy);

	pcipass_host *live = NULL;
	pcipass_graph *graph = NULL;
	char *out = NULL;
	CHECK(pcipass_host_open_live(tree, &live, NULL) == PCIPASS_OK);
	CHECK(pcipass_graph_scan(live, &graph, NULL) == PCIPASS_OK);
	CHECK(pcipass_graph_to_json(graph, &out, NULL) == PCIPASS_OK);
	CHECK(contains(out, "\"address\":\"0000:01:00.2\",\"vendor\":\"10de\",\"device\":\"1ada\""));
	pcipass_string_free(out);
	pcipass_graph_free(graph);
	pcipass_host_close(live);
}

static void test_fault_errors(pcipass_host *sim)
{
	pcipass_error *err = NULL;
	uint32_t fault = 7;

	CHECK(pcipass_sim_inject(sim, "{\"match\": {\"kind\": \"bnd\"}, \"errno\": 16}", &fault,
				 &err) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(fault == 0);
	CHECK(contains(pcipass_error_message(err), "\"bnd\" is not a write kind"));
	pcipass_error_free(err);

	CHECK(pcipass_sim_inject(sim, "{\"errno\": \"EBUZY\"}", &fault, &err) ==
	      PCIPASS_E_INVALID_ARGUMENT);
	CHECK(contains(pcipass_error_message(err), "\"EBUZY\""));
	pcipass_error_free(err);

	CHECK(pcipass_sim_inject(sim, "{\"action\": \"fail\"}", &fault, NULL) ==
	      PCIPASS_E_INVALID_ARGUMENT);
	CHECK(pcipass_sim_inject(sim, "{\"errno\": 16, \"delay\": 5}", &fault, &err) ==
	      PCIPASS_E_INVALID_ARGUMENT);
	CHECK(contains(pcipass_error_message(err), "unknown field \"delay\""));
	pcipass_error_free(err);
	CHECK(pcipass_sim_inject(sim, "{\"errno\": -1}", &fault, NULL) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(pcipass_sim_inject(sim, "{\"errno\": 5, \"match\": {\"nth\": 1.5}}", &fault, NULL) ==
	      PCIPASS_E_INVALID_ARGUMENT);

	/* Every action name parses; the faults are removed before they act. */
	static const char *const actions[] = {
		"{\"action\": \"block\"}",
		"{\"action\": \"delay\", \"delay_us\": 10}",
		"{\"action\": \"reattach_after_unbind\", \"match\": {\"kind\": \"unbind\"}}",
		"{\"action\": \"unload_module\", \"name\": \"vfio_pci\"}",
		"{\"action\": \"vanish\", \"timing\": \"after\"}",
		"{\"action\": \"probe_attaches_nothing\"}",
		"{\"action\": \"probe_later\", \"delay_us\": 1000}",
	};
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		fault = 0;
		CHECK(pcipass_sim_inject(sim, actions[i], &fault, NULL) == PCIPASS_OK);
		CHECK(fault != 0);
		CHECK(pcipass_sim_remove_fault(sim, fault, NULL) == PCIPASS_OK);
	}

	CHECK(pcipass_sim_unload_module(sim, "no_such_module", NULL) == PCIPASS_E_NOT_FOUND);
	pcipass_host *broken = NULL;
	CHECK(pcipass_sim_new("{\"schema\": \"pcipass.topology/v1\", \"devices\": 3}", NULL,
			      &broken, &err) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(broken == NULL);
	CHECK(contains(pcipass_error_message(err), "/devices"));
	pcipass_error_free(err);
}

/* Calls every JSON entry point with text and checks that the status matches the output. */
static void call_json_entry_points(pcipass_host *sim, pcipass_engine *engine, const char *text)
{
	char *out = NULL;
	pcipass_host *host = NULL;
	uint32_t fault = 0;
	int status;

	status = pcipass_engine_plan(engine, PCIPASS_OPERATION_BIND, text, &out, NULL);
	CHECK((status == PCIPASS_OK) == (out != NULL));
	pcipass_string_free(out);

	status = pcipass_engine_recover(engine, text, NULL, NULL, &out, NULL);
	CHECK((status == PCIPASS_OK) == (out != NULL));
	pcipass_string_free(out);

	status = pcipass_sim_inject(sim, text, &fault, NULL);
	CHECK((status == PCIPASS_OK) == (fault != 0));
	if (status == PCIPASS_OK)
		CHECK(pcipass_sim_remove_fault(sim, fault, NULL) == PCIPASS_OK);

	status = pcipass_sim_new(text, NULL, &host, NULL);
	CHECK((status == PCIPASS_OK) == (host != NULL));
	pcipass_host_close(host);

	status = pcipass_sim_new("{}", text, &host, NULL);
	CHECK((status == PCIPASS_OK) == (host != NULL));
	pcipass_host_close(host);
}

/*
 * Every prefix of valid documents, and each byte of the short ones
 * replaced by characters that matter to JSON: an error or a result, never
 * a crash. Desired sets go through reconcile, which writes, so they are
 * left to the libFuzzer target.
 */
static void test_json_entry_points_fuzzed(pcipass_host *sim, pcipass_engine *engine)
{
	static const char *const documents[] = {
		gpu_request,
		"{\"schema\": \"pcipass.fault/v1\", \"match\": {\"device\": \"0000:01:00.2\","
		" \"kind\": \"bind\", \"nth\": 2}, \"action\": \"delay\", \"delay_us\": 10}",
		"{\"schema\": \"pcipass.recover-options/v1\", \"deadlines\": {\"lock_ms\": 100}}",
		"{\"schema\": \"pcipass.sim-options/v1\", \"nul_override_quirk\": true}",
	};
	static const char replacements[] = {'"', '{', '}', '[', ']', ',', ':', '\\', '0', '-',
					    'e', 'n', ' ', (char)0x80, (char)0xff};

	for (size_t d = 0; d < sizeof(documents) / sizeof(documents[0]); d++) {
		const size_t length = strlen(documents[d]);
		char *text = malloc(length + 1);
		if (text == NULL)
			abort();

		for (size_t cut = 0; cut <= length; cut++) {
			memcpy(text, documents[d], cut);
			text[cut] = '\0';
			call_json_entry_points(sim, engine, text);
		}

		for (size_t at = 0; at < length; at++) {
			for (size_t r = 0; r < sizeof(replacements); r++) {
				memcpy(text, documents[d], length + 1);
				text[at] = replacements[r];
				call_json_entry_points(sim, engine, text);
			}
		}
		free(text);
	}
}

static bool stop_at_first_event(void *userdata, const char *event_json)
{
	int *events = userdata;
	(*events)++;
	return !contains(event_json, "{\"schema\":\"pcipass.event/v1\"");
}

/* Only reads: nothing here provokes an event, so waits end at their timeout. */
static void test_watcher(void)
{
	pcipass_watcher *watcher = NULL;
	pcipass_error *err = NULL;
	int32_t fd = -1;
	char *event = NULL;
	int events = 0;

	CHECK(pcipass_watcher_open("{\"schema\": \"pcipass.watch-options/v1\", \"source\": "
				   "\"kernel\", \"subsystems\": [\"pci\"]}",
				   &watcher, &err) == PCIPASS_OK);
	if (watcher == NULL) {
		fprintf(stderr, "watcher: %s\n", pcipass_error_message(err));
		pcipass_error_free(err);
		return;
	}
	CHECK(pcipass_watcher_fd(watcher, &fd, NULL) == PCIPASS_OK);
	CHECK(fd >= 0);

	/* Another process may change a PCI device meanwhile; an event must then be well formed. */
	CHECK(pcipass_watcher_next(watcher, 20, &event, NULL) == PCIPASS_OK);
	CHECK(event == NULL || contains(event, "{\"schema\":\"pcipass.event/v1\""));
	pcipass_string_free(event);

	CHECK(pcipass_watcher_run(watcher, 20, stop_at_first_event, &events, NULL) == PCIPASS_OK);
	CHECK(events <= 1);
	pcipass_watcher_close(watcher);
}

static void test_simulated_kernel(const char *root, const char *topology_path, const char *work)
{
	char *topology = read_file(topology_path);
	CHECK(topology != NULL);
	if (topology == NULL)
		return;

	test_sim_null_handling();
	test_sim_rejects_live_host(root);

	pcipass_host *sim = NULL;
	pcipass_error *err = NULL;
	CHECK(pcipass_sim_new(topology, NULL, &sim, &err) == PCIPASS_OK);
	free(topology);
	if (sim == NULL) {
		fprintf(stderr, "pcipass_sim_new: %s\n", pcipass_error_message(err));
		pcipass_error_free(err);
		return;
	}

	char *initial = sim_state(sim);
	CHECK(contains(initial, "{\"schema\":\"pcipass.sim-state/v1\",\"devices\":["));
	CHECK(device_state(initial, "0000:01:00.2", "xhci_hcd", NULL));
	CHECK(contains(initial, "\"vfio_nodes\":[]"));

	/* The default state directory belongs to the real host, so a simulated one needs its own. */
	pcipass_engine *engine = NULL;
	CHECK(pcipass_engine_open(sim, NULL, &engine, &err) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(engine == NULL);
	CHECK(contains(pcipass_error_message(err), "simulated kernel needs its own state directory"));
	pcipass_error_free(err);
	err = NULL;
	CHECK(pcipass_engine_open(sim, "", &engine, &err) == PCIPASS_E_INVALID_ARGUMENT);
	CHECK(engine == NULL);
	pcipass_error_free(err);
	err = NULL;

	char state_dir[4096];
	join_path(state_dir, sizeof(state_dir), work, "state");
	CHECK(pcipass_engine_open(sim, state_dir, &engine, &err) == PCIPASS_OK);
	if (engine == NULL) {
		fprintf(stderr, "pcipass_engine_open: %s\n", pcipass_error_message(err));
		pcipass_error_free(err);
		pcipass_string_free(initial);
		pcipass_host_close(sim);
		return;
	}

	test_bind_and_release(sim, engine, initial);
	test_rollback_after_fault(sim, engine, initial);
	test_reconcile(sim, engine, initial);
	test_request_errors(engine);
	test_fault_errors(sim);
	test_topology_round_trip(sim, initial, work);
	test_json_entry_points_fuzzed(sim, engine);

	/* The engine keeps its host alive: a plan after the host is closed still scans it. */
	pcipass_host_close(sim);
	char *plan = NULL;
	CHECK(pcipass_engine_plan(engine, PCIPASS_OPERATION_BIND, gpu_request, &plan, NULL) ==
	      PCIPASS_OK);
	CHECK(contains(plan, "\"blocked\":false"));
	pcipass_string_free(plan);

	pcipass_string_free(initial);
	pcipass_engine_close(engine);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s ROOT TOPOLOGY WORKDIR\n", argv[0]);
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
	test_simulated_kernel(argv[1], argv[2], argv[3]);
	test_watcher();

	if (failures != 0) {
		fprintf(stderr, "%d checks failed\n", failures);
		return 1;
	}
	printf("all checks passed\n");
	return 0;
}
