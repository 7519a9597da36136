/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The entry point of doctest programs that run inside the test guest: a
 * reporter that prints one protocol line per test case, and a main that
 * refuses to run outside the guest.
 */

#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "guest.hpp"

namespace {

std::string program_name = "guest";

class GuestReporter : public doctest::IReporter
{
public:
	explicit GuestReporter(const doctest::ContextOptions &) {}

	void report_query(const doctest::QueryData &) override {}
	void test_run_start() override {}
	void test_run_end(const doctest::TestRunStats &) override {}

	void test_case_start(const doctest::TestCaseData &data) override
	{
		name_ = data.m_name;
		details_.clear();
		guest::print_start(program_name, name_);
	}

	void test_case_reenter(const doctest::TestCaseData &) override {}

	void test_case_end(const doctest::CurrentTestCaseStats &stats) override
	{
		for (const std::string &detail : details_)
			guest::print_detail(program_name, detail);
		guest::print_result(program_name, stats.testCaseSuccess ? "pass" : "fail", name_);
	}

	void test_case_exception(const doctest::TestCaseException &exception) override
	{
		std::lock_guard lock(mutex_);
		details_.push_back(std::string("exception: ") + exception.error_string.c_str());
	}

	void subcase_start(const doctest::SubcaseSignature &) override {}
	void subcase_end() override {}

	void log_assert(const doctest::AssertData &data) override
	{
		if (!data.m_failed)
			return;

		std::lock_guard lock(mutex_);
		std::string text = location(data.m_file, data.m_line) + doctest::assertString(data.m_at) +
				   "( " + data.m_expr + " )";
		if (data.m_threw)
			text += " threw " + std::string(data.m_exception.c_str());
		else if (data.m_decomp.size() != 0)
			text += " with " + std::string(data.m_decomp.c_str());
		details_.push_back(text);
		/* The INFO and CHECK_MESSAGE context, which explains why the check failed. */
		const int count = get_num_active_contexts();
		const doctest::IContextScope *const *contexts = get_active_contexts();
		for (int i = 0; i < count; ++i) {
			std::ostringstream context;
			contexts[i]->stringify(&context);
			details_.push_back("  " + context.str());
		}
	}

	void log_message(const doctest::MessageData &data) override
	{
		std::lock_guard lock(mutex_);
		details_.push_back(location(data.m_file, data.m_line) + data.m_string.c_str());
	}

	void test_case_skipped(const doctest::TestCaseData &data) override
	{
		guest::print_result(program_name, "skip", data.m_name);
	}

private:
	static std::string location(const char *file, int line)
	{
		return std::filesystem::path(file).filename().string() + ":" + std::to_string(line) +
		       ": ";
	}

	std::mutex mutex_;
	std::string name_;
	std::vector<std::string> details_;
};

} /* namespace */

REGISTER_REPORTER("pcipass-guest", 1, GuestReporter);

int main(int argc, char **argv)
{
	if (!guest::inside_test_guest()) {
		std::fprintf(stderr, "%s: runs only inside the test guest booted by tests/vm/run, "
				     "because it unbinds and binds devices through sysfs\n",
			     argv[0]);
		return 2;
	}

	program_name = std::filesystem::path(argv[0]).filename().string();

	doctest::Context context;
	context.applyCommandLine(argc, argv);
	context.setOption("reporters", "pcipass-guest");
	return context.run();
}
