/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Memory of one graph snapshot. This program replaces the global operator
 * new and delete to count the heap bytes that C++ code holds, so the bytes a
 * DeviceGraph keeps are those live after the scan minus those live before.
 * The peak RSS is VmHWM of /proc/self/status. One JSON line on stdout.
 */

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <malloc.h>
#include <new>
#include <string>

#include <CLI/CLI.hpp>

#include <pcipass/graph.hpp>
#include <pcipass/host.hpp>

#include "support.hpp"

namespace {

/* Usable bytes of every block allocated through operator new and not yet freed. */
std::atomic<size_t> live_bytes{0};
std::atomic<size_t> peak_bytes{0};
std::atomic<size_t> live_blocks{0};
std::atomic<size_t> total_blocks{0};

void *counted_allocation(size_t size, size_t alignment)
{
	void *block = alignment <= alignof(std::max_align_t)
			      ? std::malloc(size ? size : 1)
			      : std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
	if (!block)
		throw std::bad_alloc();

	const size_t now = live_bytes += malloc_usable_size(block);
	size_t peak = peak_bytes.load(std::memory_order_relaxed);
	while (now > peak && !peak_bytes.compare_exchange_weak(peak, now))
		;
	live_blocks++;
	total_blocks++;
	return block;
}

void counted_free(void *block) noexcept
{
	if (!block)
		return;
	live_bytes -= malloc_usable_size(block);
	live_blocks--;
	std::free(block);
}

/*
 * A "Vm...:" line of /proc/self/status in KiB, or -1. VmHWM is the peak of
 * this program's own address space: getrusage()'s ru_maxrss would also
 * count the parent's pages that a fork copies before exec.
 */
long status_kib(const char *field)
{
	FILE *file = std::fopen("/proc/self/status", "r");
	if (!file)
		return -1;
	char line[256];
	long value = -1;
	const size_t length = std::strlen(field);
	while (std::fgets(line, sizeof(line), file))
		if (std::strncmp(line, field, length) == 0 && line[length] == ':')
			value = std::strtol(line + length + 1, nullptr, 10);
	std::fclose(file);
	return value;
}

} /* namespace */

void *operator new(size_t size)
{
	return counted_allocation(size, alignof(std::max_align_t));
}

void *operator new[](size_t size)
{
	return counted_allocation(size, alignof(std::max_align_t));
}

void *operator new(size_t size, std::align_val_t alignment)
{
	return counted_allocation(size, static_cast<size_t>(alignment));
}

void *operator new[](size_t size, std::align_val_t alignment)
{
	return counted_allocation(size, static_cast<size_t>(alignment));
}

void operator delete(void *block) noexcept
{
	counted_free(block);
}

void operator delete[](void *block) noexcept
{
	counted_free(block);
}

void operator delete(void *block, size_t) noexcept
{
	counted_free(block);
}

void operator delete[](void *block, size_t) noexcept
{
	counted_free(block);
}

void operator delete(void *block, std::align_val_t) noexcept
{
	counted_free(block);
}

void operator delete[](void *block, std::align_val_t) noexcept
{
	counted_free(block);
}

void operator delete(void *block, size_t, std::align_val_t) noexcept
{
	counted_free(block);
}

void operator delete[](void *block, size_t, std::align_val_t) noexcept
{
	counted_free(block);
}

int main(int argc, char **argv)
{
	constexpr const char *program = "snapshot_memory";
	CLI::App app("Heap bytes a graph snapshot keeps, and the scan's peak RSS; one JSON line "
		     "on stdout",
		     program);
	std::string root = "/";
	bool names = true;
	app.add_option("--root", root, "Host root to read: '/' or a materialized tree")
		->capture_default_str();
	app.add_flag("!--no-names", names, "Skip the hardware database lookup of names");
	CLI11_PARSE(app, argc, argv);

	auto host = pcipass::LiveHost::open(root);
	if (!host)
		return bench::fail(program, host.error().message);

	pcipass::ScanOptions options;
	options.names = names;

	const long rss_before_kib = status_kib("VmRSS");
	const size_t bytes_before = live_bytes;
	const size_t blocks_before = live_blocks;
	const size_t total_before = total_blocks;
	peak_bytes = bytes_before;
	const size_t malloc_before = mallinfo2().uordblks;

	auto graph = pcipass::DeviceGraph::scan(*host.value(), options);
	if (!graph)
		return bench::fail(program, graph.error().message);

	const size_t snapshot_bytes = live_bytes - bytes_before;
	const size_t snapshot_blocks = live_blocks - blocks_before;
	const size_t scan_blocks = total_blocks - total_before;
	const size_t scan_peak_bytes = peak_bytes - bytes_before;
	const size_t malloc_after = mallinfo2().uordblks;
	const long peak_kib = status_kib("VmHWM");
	const size_t functions = graph.value().devices().size();

	/* Everything the snapshot held must come back when it goes. */
	graph = pcipass::DeviceGraph();
	const size_t leaked_bytes = live_bytes - bytes_before;

	boost::json::object document;
	document["root"] = root;
	document["functions"] = functions;
	document["snapshot_bytes"] = snapshot_bytes;
	document["snapshot_blocks"] = snapshot_blocks;
	document["bytes_per_function"] = functions ? double(snapshot_bytes) / double(functions) : 0.0;
	document["blocks_per_function"] = functions ? double(snapshot_blocks) / double(functions) : 0.0;
	document["scan_allocations"] = scan_blocks;
	document["scan_peak_heap_bytes"] = scan_peak_bytes;
	document["malloc_growth_bytes"] = static_cast<double>(malloc_after) - static_cast<double>(malloc_before);
	document["bytes_left_after_release"] = leaked_bytes;
	document["rss_before_kib"] = rss_before_kib;
	document["peak_rss_kib"] = peak_kib;
	bench::print_json(document);
	return 0;
}
