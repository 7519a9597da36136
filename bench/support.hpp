/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * What the benchmark programs share: timing, medians, JSON output on
 * stdout for bench/run, and the check that a tree may be written.
 */

#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

namespace bench {

using Clock = std::chrono::steady_clock;

/* Nanoseconds from start to now. */
int64_t elapsed_ns(Clock::time_point start);

/* The median of the samples (the mean of the middle two for an even count); 0 when empty. */
double median(std::vector<double> samples);

/* {"runs_ns": [...], "median_ns": M, "min_ns": m} for samples in nanoseconds. */
boost::json::object timing_json(const std::vector<double> &samples_ns);

/* Prints one JSON document on one line to stdout, which bench/run reads. */
void print_json(const boost::json::object &document);

/* Prints "name: message" to stderr and returns exit status 1. */
int fail(const std::string &program, const std::string &message);

/*
 * Checks that dir is a tree the benchmark made, so that writing beneath it
 * cannot touch the kernel: not '/', and its sys is not a sysfs mount.
 * Returns an empty string when it is safe, otherwise why it is not.
 */
std::string unsafe_to_write(const std::string &dir);

} /* namespace bench */
