/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Trees that try to lead pcipass outside its host root, during a scan and
 * between the scan and the writes of a transaction: pcipass refuses with
 * escapes_root or a finding, and the decoy files beside the root stay
 * byte-identical.
 */

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <pcipass/graph.hpp>
#include <pcipass/host.hpp>
#include <pcipass/transaction.hpp>

#include "../transaction/harness.hpp"
#include "fixture.hpp"

using namespace pcipass;
using namespace hardening;
namespace fs = std::filesystem;

namespace {

const PciAddress gpu(0, 1, 0, 0);

/* Runs a callback once the plan is made under the lock, before the first write. */
class SwapOnPlan final : public Observer
{
public:
	explicit SwapOnPlan(std::function<void()> swap) : swap_(std::move(swap)) {}

	void on_plan(const Plan &) override { swap_(); }

private:
	std::function<void()> swap_;
};

Request request_for(PciAddress address)
{
	Request request;
	request.devices.push_back({address, std::nullopt});
	request.owner = "hardening";
	/* A file tree never rebinds, so a bind's verification gives up quickly. */
	request.options.deadlines.bind = std::chrono::milliseconds(20);
	request.options.deadlines.poll_interval = std::chrono::milliseconds(1);
	return request;
}

Request gpu_request()
{
	return request_for(gpu);
}

std::unique_ptr<LiveHost> open_live(const Sandbox &sandbox, bool use_openat2)
{
	auto host = LiveHost::open(sandbox.root(), {.use_openat2 = use_openat2});
	REQUIRE_MESSAGE(host, host.error().describe());
	return std::move(host).value();
}

/* The tree with the kernel's reaction to binds, so that a transaction can reach every step. */
std::unique_ptr<TreeKernel> open_tree(const Sandbox &sandbox, bool use_openat2)
{
	return std::make_unique<TreeKernel>(open_live(sandbox, use_openat2), sandbox.root());
}

std::string relative_to(const std::string &target, const std::string &link)
{
	return fs::relative(target, fs::path(link).parent_path()).string();
}

struct Swap {
	const char *name;
	/* The path to replace, relative to the root, and the link's target. */
	std::function<std::pair<std::string, std::string>(const Sandbox &)> make;
};

const std::vector<Swap> swaps = {
	{"device directory to an absolute link",
	 [](const Sandbox &sandbox) {
		 return std::pair(sandbox.device_dir("0000:01:00.0"), sandbox.outside() + "/device");
	 }},
	{"device directory to a link climbing out",
	 [](const Sandbox &sandbox) {
		 const std::string path = sandbox.device_dir("0000:01:00.0");
		 return std::pair(path, relative_to(sandbox.outside() + "/device", path));
	 }},
	{"bus link to an absolute link",
	 [](const Sandbox &sandbox) {
		 return std::pair(sandbox.root() + "/sys/bus/pci/devices/0000:01:00.0",
				  sandbox.outside() + "/device");
	 }},
	{"vfio-pci bind file to an absolute link",
	 [](const Sandbox &sandbox) {
		 return std::pair(sandbox.root() + "/sys/bus/pci/drivers/vfio-pci/bind",
				  sandbox.outside() + "/bind");
	 }},
	{"nouveau driver directory to a link climbing out",
	 [](const Sandbox &sandbox) {
		 const std::string path = sandbox.root() + "/sys/bus/pci/drivers/nouveau";
		 return std::pair(path, relative_to(sandbox.outside(), path));
	 }},
};

/* An engine on host keeping its journal in the sandbox. */
std::unique_ptr<Engine> open_engine(Host &host, const Sandbox &sandbox)
{
	EngineOptions options;
	options.state_dir = sandbox.state_dir();
	auto engine = Engine::open(host, options);
	REQUIRE_MESSAGE(engine, engine.error().describe());
	return std::move(engine).value();
}

/*
 * Binds the devices of request, expects the bind to fail, and checks that
 * nothing changed: the root tree, the files outside it, the journal and the claims.
 */
Error rejected_bind(Sandbox &sandbox, bool use_openat2, const Request &request = gpu_request())
{
	const TreePicture outside = picture(sandbox.outside());
	const TreePicture root = picture(sandbox.root());
	auto host = open_tree(sandbox, use_openat2);
	auto engine = open_engine(*host, sandbox);

	auto bound = engine->bind(request);
	REQUIRE_FALSE(bound);

	CHECK_MESSAGE(differences(root, picture(sandbox.root())).empty(),
		      differences(root, picture(sandbox.root())));
	CHECK(differences(outside, picture(sandbox.outside())).empty());
	CHECK_FALSE(fs::exists(sandbox.state_dir() + "/journal"));
	CHECK_FALSE(fs::exists(sandbox.state_dir() + "/ownership.json"));
	auto claims = engine->ownerships();
	REQUIRE(claims);
	CHECK(claims.value().empty());
	return bound.error();
}

} /* namespace */

TEST_CASE("confinement: tree kernel moves the GPU group")
{
	Sandbox sandbox("gpu-workstation");
	const TreePicture outside = picture(sandbox.outside());
	auto host = open_tree(sandbox, true);
	auto engine = open_engine(*host, sandbox);

	auto bound = engine->bind(gpu_request());
	REQUIRE_MESSAGE(bound, bound.error().describe());
	CHECK(bound.value().outcome == Outcome::committed);
	for (const char *function : {"0000:01:00.0", "0000:01:00.1", "0000:01:00.2", "0000:01:00.3"}) {
		CAPTURE(function);
		CHECK(fs::read_symlink(sandbox.device_dir(function) + "/driver").filename() == "vfio-pci");
	}

	auto released = engine->release(gpu_request());
	REQUIRE_MESSAGE(released, released.error().describe());
	CHECK(fs::read_symlink(sandbox.device_dir("0000:01:00.0") + "/driver").filename() == "nouveau");
	CHECK(read_file(sandbox.device_dir("0000:01:00.0") + "/driver_override") == "(null)\n");
	CHECK(differences(outside, picture(sandbox.outside())).empty());
}

TEST_CASE("confinement: swapped paths never written through")
{
	for (const Swap &swap : swaps) {
		for (bool use_openat2 : {true, false}) {
			CAPTURE(std::string(swap.name));
			CAPTURE(use_openat2);
			Sandbox sandbox("gpu-workstation");
			const TreePicture outside = picture(sandbox.outside());
			auto host = open_tree(sandbox, use_openat2);
			auto engine = open_engine(*host, sandbox);

			const auto [path, target] = swap.make(sandbox);
			SwapOnPlan observer([&, path = path, target = target] {
				replace_with_symlink(path, target);
			});
			auto bound = engine->bind(gpu_request(), &observer);

			/*
			 * A swapped device directory also fails the undo of the
			 * device's first step, which reports rollback_failed with
			 * the same cause.
			 */
			REQUIRE_FALSE(bound);
			CHECK_MESSAGE((bound.error().code == errc::escapes_root ||
				       bound.error().code == errc::rollback_failed),
				      bound.error().describe());
			CHECK_MESSAGE(bound.error().message.find("outside the host root") != std::string::npos,
				      bound.error().describe());
			CHECK(bound.error().message.find('\n') == std::string::npos);
			CHECK_MESSAGE(differences(outside, picture(sandbox.outside())).empty(),
				      differences(outside, picture(sandbox.outside())));
		}
	}
}

TEST_CASE("confinement: escaping driver and group links")
{
	Sandbox sandbox("gpu-workstation");
	const std::string gpu_dir = sandbox.device_dir("0000:01:00.0");
	replace_with_symlink(gpu_dir + "/driver", sandbox.outside());
	replace_with_symlink(gpu_dir + "/iommu_group", relative_to(sandbox.outside(), gpu_dir + "/iommu_group"));
	const TreePicture outside = picture(sandbox.outside());
	const TreePicture root = picture(sandbox.root());

	auto host = open_live(sandbox, true);
	auto graph = DeviceGraph::scan(*host);
	REQUIRE(graph);
	const Device *device = graph.value().find(gpu);
	REQUIRE(device);
	CHECK_FALSE(device->driver);
	CHECK_FALSE(device->iommu_group);
	std::vector<std::string> attributes;
	for (const Finding &finding : device->findings)
		attributes.push_back(finding.attribute);
	CHECK(std::count(attributes.begin(), attributes.end(), "driver") == 1);
	CHECK(std::count(attributes.begin(), attributes.end(), "iommu_group") == 1);

	auto engine = open_engine(*host, sandbox);
	auto bound = engine->bind(gpu_request());
	REQUIRE_FALSE(bound);
	CHECK_MESSAGE(bound.error().code == errc::no_iommu_group, bound.error().describe());

	CHECK(differences(outside, picture(sandbox.outside())).empty());
	CHECK(differences(root, picture(sandbox.root())).empty());
	CHECK_FALSE(fs::exists(sandbox.state_dir() + "/journal"));
}

TEST_CASE("confinement: dot-dot paths and addresses rejected")
{
	Sandbox sandbox("gpu-workstation");
	const TreePicture outside = picture(sandbox.outside());
	const TreePicture root = picture(sandbox.root());
	auto host = open_live(sandbox, true);

	for (const char *path : {"sys/bus/pci/devices/../../../../outside/device/driver_override",
				 "sys/bus/pci/devices/0000:01:00.0/../../../../../outside/bind",
				 "../outside/bind", "/etc/passwd", "sys/bus/pci/devices/./0000:01:00.0/driver_override"}) {
		CAPTURE(path);
		auto written = host->write(path, "vfio-pci");
		REQUIRE_FALSE(written);
		CHECK(written.error().code == errc::invalid_argument);
		CHECK_FALSE(host->can_write(path));
		CHECK_FALSE(host->exists(path));
	}

	for (const char *text : {"../../../outside", "0000:01:00.0/..", "0000:01:00.0/../../x",
				 ".", "..", "0000:01:00.0 ", " 0000:01:00.0", "0000:01:00.0\n"}) {
		CAPTURE(text);
		auto address = PciAddress::parse(text);
		REQUIRE_FALSE(address);
		CHECK(address.error().code == errc::invalid_argument);
		CHECK_FALSE(has_control_bytes(address.error().message));
	}

	CHECK(differences(outside, picture(sandbox.outside())).empty());
	CHECK(differences(root, picture(sandbox.root())).empty());
}

TEST_CASE("confinement: malformed driver and module names rejected")
{
	txntest::Fixture fixture(txntest::catalogue("gpu-workstation"));
	const std::vector<std::pair<std::string, std::string>> cases = {
		{"../../../outside", ""},     {"vfio-pci/../../x", ""}, {"..", ""},
		{"vfio-pci\nnouveau", ""},    {"vfio pci", ""},         {"vfio-pci\x1b[2J", ""},
		{"vfio-pci", "../../vfio_pci"}, {"vfio-pci", "vfio pci"},
	};
	for (const auto &[driver, module] : cases) {
		CAPTURE(driver);
		CAPTURE(module);
		pcipass::Request request = txntest::request({"0000:01:00.0"}, "hardening", driver);
		request.options.module = module;
		request.options.allow_module_load = true;

		auto bound = fixture.engine->bind(request);
		REQUIRE_FALSE(bound);
		CHECK(bound.error().code == errc::invalid_argument);
		CHECK(bound.error().message.starts_with("invalid "));
		CHECK_FALSE(has_control_bytes(bound.error().message));
		CHECK(fixture.host->log().empty());
		CHECK(fixture.host->state() == fixture.initial);
	}
}

TEST_CASE("confinement: pcipassctl rejects dot-dot devices")
{
	Sandbox sandbox("gpu-workstation");
	const TreePicture outside = picture(sandbox.outside());
	const TreePicture root = picture(sandbox.root());
	const std::string reconcile = sandbox.base() + "/reconcile.json";
	write_file(reconcile, R"([{"device": "../../../outside/device", "driver": "vfio-pci", "owner": "x"}])");

	const std::vector<std::vector<std::string>> commands = {
		{"bind", "../../../outside/device", "--yes"},
		{"bind", "0000:01:00.0/../../../../outside", "--yes"},
		{"release", "..", "--yes"},
		{"show", "../../outside/device"},
		{"reconcile", reconcile, "--yes"},
	};
	for (const auto &command : commands) {
		std::vector<std::string> argv = {PCIPASSCTL, "--root", sandbox.root(), "--state-dir",
						 sandbox.state_dir()};
		argv.insert(argv.end(), command.begin(), command.end());
		CAPTURE(command[0]);
		CAPTURE(command[1]);
		const ProgramOutput output = run_program(argv);
		CHECK((output.status == 1 || output.status == 2));
		CHECK(output.out.empty());
		CHECK(output.err.find("invalid") != std::string::npos);
		CHECK(std::count(output.err.begin(), output.err.end(), '\n') == 1);
	}

	CHECK(differences(outside, picture(sandbox.outside())).empty());
	CHECK(differences(root, picture(sandbox.root())).empty());
	CHECK_FALSE(fs::exists(sandbox.state_dir() + "/journal"));
}

TEST_CASE("confinement: control bytes in names escaped")
{
	Sandbox sandbox("gpu-workstation");
	const std::string bus = sandbox.root() + "/sys/bus/pci/devices";
	const std::string gpu_link = fs::read_symlink(bus + "/0000:01:00.0").string();
	for (const char *name : {"0000:01:00.0 ", "0000:01:00.0\n", "evil\x1b[2Jname", "dev ice",
				 "0000:01:00.0\t..", "\x7f\x01"})
		fs::create_symlink(gpu_link, bus + "/" + name);

	/* A driver whose directory name carries a terminal escape, bound to the audio function. */
	const std::string drivers = sandbox.root() + "/sys/bus/pci/drivers";
	const std::string odd_driver = "snd\x1b]0;owned\x07hda";
	fs::rename(drivers + "/snd_hda_intel", drivers + "/" + odd_driver);
	const std::string audio_dir = sandbox.device_dir("0000:01:00.1");
	replace_with_symlink(audio_dir + "/driver",
			     relative_to(drivers + "/" + odd_driver, audio_dir + "/driver"));

	auto host = open_live(sandbox, true);
	auto graph = DeviceGraph::scan(*host);
	REQUIRE(graph);
	CHECK(graph.value().devices().size() == sandbox.topology().devices.size());
	size_t odd_findings = 0;
	for (const Finding &finding : graph.value().host().findings) {
		CHECK_FALSE(has_control_bytes(finding.message));
		odd_findings += finding.path.starts_with("sys/bus/pci/devices/");
	}
	CHECK(odd_findings == 6);

	const std::vector<std::vector<std::string>> commands = {
		{"list"}, {"list", "--tree"}, {"show", "0000:01:00.1"}, {"doctor"}, {"doctor", "0000:01:00.1"},
		{"plan", "bind", "0000:01:00.0"},
	};
	for (const auto &command : commands) {
		std::vector<std::string> argv = {PCIPASSCTL, "--root", sandbox.root(), "--state-dir",
						 sandbox.state_dir()};
		argv.insert(argv.end(), command.begin(), command.end());
		CAPTURE(command[0]);
		CAPTURE(command.back());
		const ProgramOutput output = run_program(argv);
		CHECK(output.status != -1);
		CHECK_FALSE(output.out.empty());
		CHECK_MESSAGE(!has_control_bytes(output.out), output.out);
		CHECK_MESSAGE(!has_control_bytes(output.err), output.err);

		argv.push_back("--json");
		const ProgramOutput json = run_program(argv);
		CHECK_FALSE(has_control_bytes(json.out));
		CHECK_FALSE(has_control_bytes(json.err));
		boost::system::error_code ec;
		(void)boost::json::parse(json.out, ec);
		CHECK_MESSAGE(!ec, json.out);
	}
}

TEST_CASE("confinement: DEL, C1 and invalid UTF-8 escaped")
{
	Sandbox sandbox("gpu-workstation");
	/* DEL, CSI as a C1 control (0xc2 0x9b), a stray 0xff, a cut-off sequence and valid "é". */
	rename_driver(sandbox, "snd_hda_intel", "snd\x7f\xc2\x9b" "2J\xff\xe2\x82" "x\xc3\xa9",
		      "0000:01:00.1");

	const std::vector<std::string> argv = {PCIPASSCTL, "--root", sandbox.root(), "show",
					       "0000:01:00.1"};
	const ProgramOutput text = run_program(argv);
	CHECK(text.status == 0);
	CHECK_MESSAGE(text.out.find("  driver           snd\\x7f\\xc2\\x9b2J\\xff\\xe2\\x82x\xc3\xa9\n") !=
			      std::string::npos,
		      text.out);
	CHECK(text.out.find('\x7f') == std::string::npos);
	CHECK(text.out.find("\xc2\x9b") == std::string::npos);
	CHECK(text.out.find('\xff') == std::string::npos);

	std::vector<std::string> json_argv = argv;
	json_argv.push_back("--json");
	const ProgramOutput json = run_program(json_argv);
	CHECK(json.status == 0);
	CHECK(json.out.find("\\x") == std::string::npos);
	boost::system::error_code ec;
	const boost::json::value document = boost::json::parse(json.out, ec);
	REQUIRE_MESSAGE(!ec, json.out);
	/* DEL and C1 are valid in JSON strings and stay; each invalid byte becomes U+FFFD. */
	CHECK(document.at("device").at("driver") ==
	      "snd\x7f\xc2\x9b" "2J\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "x\xc3\xa9");
}

TEST_CASE("confinement: bus directory linked outside")
{
	Sandbox sandbox("gpu-workstation");
	replace_with_symlink(sandbox.root() + "/sys/bus/pci/devices", sandbox.outside());
	auto host = open_live(sandbox, false);
	auto graph = DeviceGraph::scan(*host);
	REQUIRE_FALSE(graph);
	CHECK(graph.error().code == errc::escapes_root);

	const ProgramOutput output = run_program({PCIPASSCTL, "--root", sandbox.root(), "list"});
	CHECK(output.status == 1);
	CHECK(output.out.empty());
	CHECK(std::count(output.err.begin(), output.err.end(), '\n') == 1);
}

TEST_CASE("confinement: an unreadable mount table keeps disks in use")
{
	/* Without the mount table the SATA controller holding / would look free to bind. */
	const std::vector<std::pair<const char *, std::function<void(const Sandbox &)>>> damages = {
		{"missing", [](const Sandbox &sandbox) { fs::remove(sandbox.root() + "/proc/mounts"); }},
		{"malformed line",
		 [](const Sandbox &sandbox) {
			 std::ofstream(sandbox.root() + "/proc/mounts", std::ios::app) << "garbage\n";
		 }},
	};

	for (const auto &[name, damage] : damages) {
		CAPTURE(std::string(name));
		Sandbox sandbox("gpu-workstation");
		damage(sandbox);

		auto host = open_live(sandbox, true);
		auto graph = DeviceGraph::scan(*host);
		REQUIRE_MESSAGE(graph, graph.error().describe());
		const auto &findings = graph.value().host().findings;
		CHECK(std::any_of(findings.begin(), findings.end(),
				  [](const Finding &finding) { return finding.path == "proc/mounts"; }));
		const Device *sata = graph.value().find(PciAddress(0, 0, 0x17, 0));
		REQUIRE(sata);
		for (const Consumer &consumer : sata->consumers)
			CHECK(consumer.mountpoint == "[unknown]");

		const Error error = rejected_bind(sandbox, true, request_for(PciAddress(0, 0, 0x17, 0)));
		CHECK_MESSAGE(error.code == errc::device_in_use, error.describe());
		CHECK(error.device == "0000:00:17.0");
		CHECK(error.message.find("on 0000:00:17.0 is possibly mounted (proc/mounts could not be "
					 "read; check it); unmount it first") != std::string::npos);
	}
}

TEST_CASE("confinement: a group member behind a link blocks the bind")
{
	for (bool use_openat2 : {true, false}) {
		CAPTURE(use_openat2);
		Sandbox sandbox("gpu-workstation");

		/* The scan does not enter a device directory that is a link, so the group looks smaller. */
		const std::string member = sandbox.device_dir("0000:01:00.1");
		const std::string moved = sandbox.outside() + "/0000:01:00.1";
		fs::rename(member, moved);
		replace_with_symlink(member, moved);

		const Error error = rejected_bind(sandbox, use_openat2);
		CHECK_MESSAGE(error.code == errc::not_viable, error.describe());
		CHECK(error.device == "0000:01:00.1");
		CHECK(error.path == "sys/kernel/iommu_groups/7/devices");
		CHECK(error.message.starts_with("IOMMU group 7 lists '0000:01:00.1', which the scan did "
						"not find"));
		CHECK(error.message.find("nothing was changed") != std::string::npos);
	}
}

TEST_CASE("confinement: escaping attribute links rejected")
{
	struct Linked {
		const char *name;
		std::string device; /* the device the error names */
		std::string path;   /* relative to the root */
		bool absolute;
		std::string parent; /* a directory above path that becomes the link instead */
	};
	const std::vector<Linked> cases = {
		{"driver_override of a group member, absolute", "0000:01:00.1",
		 "sys/bus/pci/devices/0000:01:00.1/driver_override", true, {}},
		{"driver_override climbing out", "0000:01:00.0",
		 "sys/bus/pci/devices/0000:01:00.0/driver_override", false, {}},
		{"old driver's unbind, absolute", "0000:01:00.0", "sys/bus/pci/drivers/nouveau/unbind", true,
		 {}},
		{"target driver's bind climbing out", "0000:01:00.0", "sys/bus/pci/drivers/vfio-pci/bind",
		 false, {}},
		{"old driver's directory, absolute", "0000:01:00.0", "sys/bus/pci/drivers/nouveau/unbind",
		 true, "sys/bus/pci/drivers/nouveau"},
		{"old driver's directory climbing out", "0000:01:00.0",
		 "sys/bus/pci/drivers/nouveau/unbind", false, "sys/bus/pci/drivers/nouveau"},
	};

	for (const Linked &linked : cases) {
		for (bool use_openat2 : {true, false}) {
			CAPTURE(std::string(linked.name));
			CAPTURE(use_openat2);
			Sandbox sandbox("gpu-workstation");
			const std::string outside_file = sandbox.outside() + "/outside-file";
			write_file(outside_file, "decoy\n");

			/* The bus link leads to the device directory: replace the file behind it. */
			std::string link = sandbox.root() + "/" + linked.path;
			std::string target = outside_file;
			if (linked.path.starts_with("sys/bus/pci/devices/"))
				link = sandbox.device_dir(linked.device) + "/" + fs::path(linked.path).filename().string();
			if (!linked.parent.empty()) {
				/* The real directory moves out whole, so a write through the link would land. */
				link = sandbox.root() + "/" + linked.parent;
				target = sandbox.outside() + "/moved";
				fs::rename(link, target);
			}
			replace_with_symlink(link, linked.absolute ? target : relative_to(target, link));
			const std::string watched = linked.parent.empty()
							    ? outside_file
							    : target + "/" + fs::path(linked.path).filename().string();
			const std::string watched_before = read_file(watched);

			const Error error = rejected_bind(sandbox, use_openat2);
			CHECK_MESSAGE(error.code == errc::escapes_root, error.describe());
			CHECK(error.device == linked.device);
			CHECK(error.path == linked.path);
			CHECK(error.sys_errno == 0);
			CHECK(error.message.starts_with("cannot write '" + linked.path + "' for " + linked.device));
			CHECK(error.message.find("outside the host root") != std::string::npos);
			CHECK(error.message.find("nothing was changed") != std::string::npos);
			CHECK(error.message.find("replace the link") != std::string::npos);
			CHECK(error.message.find('\n') == std::string::npos);
			CHECK(read_file(outside_file) == "decoy\n");
			CHECK(read_file(watched) == watched_before);
		}
	}
}
