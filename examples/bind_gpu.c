/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Binds the GPU group of a simulated workstation to vfio-pci through the C
 * ABI, prints the PCIDeviceClaims for the group and releases it again.
 * Usage: bind_gpu_c TOPOLOGY STATE_DIR (tests/topologies/gpu-workstation.json)
 */

#include <stdio.h>
#include <stdlib.h>

#include <pcipass.h>

static const char request[] =
	"{\"schema\": \"pcipass.request/v1\", \"devices\": [\"0000:01:00.0\"],"
	" \"owner\": \"vm-42\"}";

/*
 * The uids come from the API server (kubectl get pcidevice NAME -o
 * jsonpath='{.metadata.uid}'); these stand in for them.
 */
static const char objects_request[] =
	"{\"schema\": \"pcipass.objects-request/v1\", \"address\": \"0000:01:00.0\","
	" \"node\": \"ws1\", \"siblings\": true, \"user_name\": \"vm-42\", \"uids\": {"
	"\"0000:01:00.0\": \"uid-gpu\", \"0000:01:00.1\": \"uid-audio\","
	" \"0000:01:00.2\": \"uid-usb\", \"0000:01:00.3\": \"uid-ucsi\"}}";

/* Prints the failed call's error, frees it and returns 1. */
static int report(const char *what, pcipass_error *err)
{
	fprintf(stderr, "%s: %s (%s", what, pcipass_error_message(err),
		pcipass_status_name(pcipass_error_code(err)));
	if (pcipass_error_device(err) && pcipass_error_device(err)[0])
		fprintf(stderr, ", device %s", pcipass_error_device(err));
	if (pcipass_error_errno(err))
		fprintf(stderr, ", errno %d", (int)pcipass_error_errno(err));
	fprintf(stderr, ")\n");
	pcipass_error_free(err);
	return 1;
}

static char *read_file(const char *path)
{
	FILE *file = fopen(path, "rb");
	if (file == NULL)
		return NULL;

	char *text = NULL;
	size_t size = 0;
	size_t used = 0;
	for (;;) {
		if (used + 4096 + 1 > size) {
			size = 2 * size + 4096 + 1;
			char *grown = realloc(text, size);
			if (grown == NULL)
				break;
			text = grown;
		}
		size_t got = fread(text + used, 1, size - used - 1, file);
		used += got;
		if (got == 0) {
			text[used] = '\0';
			fclose(file);
			return text;
		}
	}
	free(text);
	fclose(file);
	return NULL;
}

/* Prints the claims of the bound group; returns 0 or 1. */
static int print_claims(pcipass_host *host)
{
	pcipass_graph *graph = NULL;
	pcipass_error *err = NULL;
	char *objects = NULL;

	if (pcipass_graph_scan(host, &graph, &err) != PCIPASS_OK)
		return report("scan", err);

	int failed = 0;
	if (pcipass_objects_build(graph, objects_request, &objects, &err) == PCIPASS_OK)
		printf("%s\n", objects);
	else
		failed = report("objects", err);

	pcipass_string_free(objects);
	pcipass_graph_free(graph);
	return failed;
}

/* Binds, prints the claims and releases; returns 0 or 1. */
static int bind_and_release(pcipass_host *host, pcipass_engine *engine)
{
	pcipass_error *err = NULL;
	char *result = NULL;

	if (pcipass_engine_bind(engine, request, NULL, NULL, &result, &err) != PCIPASS_OK)
		return report("bind", err);
	pcipass_string_free(result);

	int failed = print_claims(host);

	if (pcipass_engine_release(engine, request, NULL, NULL, &result, &err) != PCIPASS_OK)
		return report("release", err);
	pcipass_string_free(result);
	return failed;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s TOPOLOGY STATE_DIR\n", argv[0]);
		return 2;
	}

	char *topology = read_file(argv[1]);
	if (topology == NULL) {
		perror(argv[1]);
		return 1;
	}

	pcipass_host *host = NULL;
	pcipass_error *err = NULL;
	int status = pcipass_sim_new(topology, NULL, &host, &err);
	free(topology);
	if (status != PCIPASS_OK)
		return report("pcipass_sim_new", err);

	pcipass_engine *engine = NULL;
	if (pcipass_engine_open(host, argv[2], &engine, &err) != PCIPASS_OK) {
		pcipass_host_close(host);
		return report("pcipass_engine_open", err);
	}

	int failed = bind_and_release(host, engine);

	pcipass_engine_close(engine);
	pcipass_host_close(host);
	return failed;
}
