/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 */

#include "support.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <linux/magic.h>
#include <sys/statfs.h>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

namespace bench {

int64_t elapsed_ns(Clock::time_point start)
{
	return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
}

double median(std::vector<double> samples)
{
	if (samples.empty())
		return 0;
	std::sort(samples.begin(), samples.end());
	const size_t middle = samples.size() / 2;
	if (samples.size() % 2 == 1)
		return samples[middle];
	return (samples[middle - 1] + samples[middle]) / 2;
}

boost::json::object timing_json(const std::vector<double> &samples_ns)
{
	boost::json::array runs;
	for (double sample : samples_ns)
		runs.push_back(sample);

	boost::json::object timing;
	timing["runs_ns"] = std::move(runs);
	timing["median_ns"] = median(samples_ns);
	timing["min_ns"] = samples_ns.empty() ? 0.0
					      : *std::min_element(samples_ns.begin(), samples_ns.end());
	return timing;
}

void print_json(const boost::json::object &document)
{
	std::cout << boost::json::serialize(document) << std::endl;
}

int fail(const std::string &program, const std::string &message)
{
	std::cerr << program << ": " << message << std::endl;
	return 1;
}

std::string unsafe_to_write(const std::string &dir)
{
	std::error_code error;
	const std::filesystem::path canonical = std::filesystem::canonical(dir, error);
	if (error)
		return "cannot resolve '" + dir + "': " + error.message();
	if (canonical == canonical.root_path())
		return "'" + dir + "' is the root directory; give a tree made by 'graph_scan materialize'";

	struct statfs fs;
	const std::string sys = (canonical / "sys").string();
	if (::statfs(sys.c_str(), &fs) == 0 && fs.f_type == SYSFS_MAGIC)
		return "'" + sys + "' is a sysfs mount; benchmarks never write to a kernel's sysfs";
	return {};
}

} /* namespace bench */
