/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The C ABI's hosts and graphs.
 */

#include <boost/json/serialize.hpp>

#include <pcipass/graph_json.hpp>

#include "capi_internal.hpp"

using namespace pcipass;

PCIPASS_EXPORT int pcipass_host_open_live(const char *root, pcipass_host **host,
					  pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		if (!host)
			return capi::null_argument(err, "pcipass_host_open_live", "host");
		*host = nullptr;

		auto opened = LiveHost::open(root ? root : "/");
		if (!opened)
			return capi::fail(err, opened.error());

		*host = new pcipass_host{std::move(opened).value()};
		return PCIPASS_OK;
	});
}

PCIPASS_EXPORT void pcipass_host_close(pcipass_host *host)
{
	delete host;
}

PCIPASS_EXPORT int pcipass_graph_scan(pcipass_host *host, pcipass_graph **graph,
				      pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		if (!graph)
			return capi::null_argument(err, "pcipass_graph_scan", "graph");
		*graph = nullptr;
		if (!host)
			return capi::null_argument(err, "pcipass_graph_scan", "host");

		auto scanned = DeviceGraph::scan(*host->host);
		if (!scanned)
			return capi::fail(err, scanned.error());

		*graph = new pcipass_graph{std::move(scanned).value()};
		return PCIPASS_OK;
	});
}

PCIPASS_EXPORT void pcipass_graph_free(pcipass_graph *graph)
{
	delete graph;
}

PCIPASS_EXPORT int pcipass_graph_to_json(const pcipass_graph *graph, char **json,
					 pcipass_error **err)
{
	return capi::guard(err, [&]() -> int {
		if (!json)
			return capi::null_argument(err, "pcipass_graph_to_json", "json");
		*json = nullptr;
		if (!graph)
			return capi::null_argument(err, "pcipass_graph_to_json", "graph");

		*json = capi::copy_string(boost::json::serialize(to_json(graph->graph)));
		return PCIPASS_OK;
	});
}
