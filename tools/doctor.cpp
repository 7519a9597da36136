/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The host checks behind 'pcipassctl doctor'.
 */

#include "doctor.hpp"

#include <algorithm>

#include "sysfs_parse.hpp"

namespace pcipassctl {

namespace {

using pcipass::HostFacts;
using pcipass::detail::name_in_message;
using pcipass::detail::quote_path;

std::string join(const std::vector<std::string> &parts, const std::string &separator)
{
	std::string text;
	for (const std::string &part : parts)
		text += (text.empty() ? "" : separator) + part;
	return text;
}

/* The steps that turn the IOMMU on, for this CPU vendor and the current command line. */
std::string iommu_fix(const HostFacts &host)
{
	using pcipass::detail::cmdline_parameter;
	const std::string &cmdline = host.kernel_cmdline;
	const auto intel = cmdline_parameter(cmdline, "intel_iommu");
	std::vector<std::string> steps;

	if (cmdline_parameter(cmdline, "iommu") == "off")
		steps.push_back("remove iommu=off from the kernel command line");
	if (cmdline_parameter(cmdline, "amd_iommu") == "off")
		steps.push_back("remove amd_iommu=off from the kernel command line");

	/* A guest's IOMMU is whatever device the hypervisor emulates, whatever the CPU. */
	if (host.hypervisor) {
		steps.push_back("this is a virtual machine, so its hypervisor must give it a virtual "
				"IOMMU (QEMU: -machine q35,kernel-irqchip=split -device "
				"intel-iommu,intremap=on,caching-mode=on, or -device virtio-iommu-pci)");
		if (!intel || intel->find("on") == std::string::npos)
			steps.push_back("with intel-iommu also add intel_iommu=on to this kernel's command "
					"line; virtio-iommu needs no parameter");
		return join(steps, "; ");
	}

	if (host.cpu_vendor == "GenuineIntel") {
		if (intel && intel->starts_with("off"))
			steps.push_back("replace intel_iommu=off with intel_iommu=on on the kernel command line");
		else if (!intel || intel->find("on") == std::string::npos)
			steps.push_back("add intel_iommu=on to the kernel command line (on Debian: "
					"GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub) and "
					"reboot");
		steps.push_back("enable VT-d in the firmware setup");
	} else if (host.cpu_vendor == "AuthenticAMD") {
		/* The AMD driver initializes whenever firmware describes the IOMMU (an IVRS table). */
		steps.push_back("enable the IOMMU (AMD-Vi) in the firmware setup; the kernel turns the "
				"AMD IOMMU on by itself, so no kernel parameter is needed (iommu=pt is "
				"optional and only skips translation for host drivers)");
	} else {
		steps.push_back("enable the platform IOMMU in the firmware setup and boot a kernel "
				"with its IOMMU driver");
	}
	return join(steps, "; ");
}

Check iommu_check(const HostFacts &host)
{
	if (host.iommu_enabled)
		return {"iommu", Check::Status::ok,
			"IOMMU on (units: " + (host.iommu_units.empty() ? std::string("none listed")
								     : join(host.iommu_units, ", ")) +
				")",
			{}};

	std::string message = "IOMMU off: no groups in /sys/kernel/iommu_groups";
	if (host.iommu_units.empty())
		message += " and no units in /sys/class/iommu";
	return {"iommu", Check::Status::failed, message, iommu_fix(host)};
}

/* Whether the running kernel ships the module, from lib/modules/RELEASE; nothing when unknown. */
std::optional<bool> module_installed(pcipass::Host &host, const HostFacts &facts,
				     const std::string &module)
{
	if (facts.kernel_release.empty())
		return std::nullopt;

	/* Files name modules with '-' or '_' as the source tree does: try both. */
	std::string dashed = module;
	std::replace(dashed.begin(), dashed.end(), '_', '-');
	const std::string base = "lib/modules/" + facts.kernel_release + "/";

	bool readable = false;
	for (const char *list : {"modules.dep", "modules.builtin"}) {
		auto content = host.read(base + list, 16 << 20);
		if (!content)
			continue;
		readable = true;
		for (const std::string &name : {module, dashed})
			if (content.value().find("/" + name + ".ko") != std::string::npos)
				return true;
	}
	return readable ? std::optional<bool>(false) : std::nullopt;
}

Check driver_check(pcipass::Host &host, const HostFacts &facts, const std::string &target_name)
{
	const std::string target = name_in_message(target_name);
	std::string module = target_name;
	std::replace(module.begin(), module.end(), '-', '_');

	std::vector<std::string> loaded;
	for (const char *name : {"vfio", "vfio_iommu_type1", "vfio_pci_core", "vfio_pci"})
		if (facts.module_loaded(name))
			loaded.push_back(name);
	const std::string modules = loaded.empty() ? "" : " (modules loaded: " + join(loaded, ", ") + ")";

	if (facts.driver_present(target_name))
		return {"driver", Check::Status::ok, target + " driver loaded" + modules, {}};

	if (!facts.module_support)
		return {"driver", Check::Status::failed,
			target + " is not available: the kernel has no loadable module support "
				 "(no /proc/modules) and does not have it built in",
			"boot a kernel built with CONFIG_VFIO_PCI, or with module support and the "
			"vfio-pci module"};

	const auto installed = module_installed(host, facts, module);
	if (installed == false)
		return {"driver", Check::Status::failed,
			target + " is not loaded and kernel " + facts.kernel_release +
				" has no " + name_in_message(module) + " module",
			"install the modules package of the running kernel, then run modprobe " + target};

	return {"driver", Check::Status::warning, target + " is not loaded" + modules,
		"run modprobe " + target + ", or let a claim load it"};
}

Check container_check(const HostFacts &facts)
{
	if (facts.vfio_container)
		return {"vfio_container", Check::Status::ok, "/dev/vfio/vfio present", {}};
	return {"vfio_container", Check::Status::warning,
		"/dev/vfio/vfio is absent, so no VFIO user can open a group yet",
		"it appears when the vfio module loads: run 'modprobe vfio-pci'"};
}

/* A blocker message is "what is wrong; what to do": split it there. */
Check blocker_check(const pcipass::Blocker &blocker)
{
	const size_t split = blocker.message.rfind("; ");
	if (split == std::string::npos)
		return {"device", Check::Status::failed, blocker.message, {}};
	return {"device", Check::Status::failed, blocker.message.substr(0, split),
		blocker.message.substr(split + 2)};
}

void device_checks(const pcipass::DeviceGraph &graph, pcipass::PciAddress address,
		   const std::string &target_name, std::vector<Check> &checks)
{
	const std::string target = name_in_message(target_name);
	const pcipass::Device *device = graph.find(address);
	if (!device) {
		checks.push_back({"device", Check::Status::failed,
				  "no PCI function " + address.to_string(),
				  "run 'pcipassctl list' for the addresses"});
		return;
	}

	const std::string name = address.to_string() + " (" +
				 pcipass::id_pair_string(device->vendor, device->device) + ", " +
				 (device->driver ? name_in_message(*device->driver) : "no driver") + ")";
	const pcipass::Readiness readiness = graph.readiness(address, target_name);

	if (device->iommu_group) {
		std::vector<std::string> members;
		for (const pcipass::Device *member : graph.group_members_of(address))
			members.push_back(member->address.to_string() + " " +
					  (member->driver ? name_in_message(*member->driver) : "(no driver)"));
		checks.push_back({"group", Check::Status::ok,
				  "IOMMU group " + std::to_string(*device->iommu_group) + ": " +
					  join(members, ", "),
				  {}});
	}

	for (const pcipass::Finding &finding : device->findings)
		checks.push_back({"device", Check::Status::warning, finding.message,
				  "check " + quote_path(finding.path)});

	switch (readiness.state) {
	case pcipass::Readiness::State::ready:
		checks.push_back({"device", Check::Status::ok, name + " is on " + target + " and ready", {}});
		return;
	case pcipass::Readiness::State::in_use:
		checks.push_back({"device", Check::Status::ok,
				  name + " is on " + target + " and its group is open by a VFIO user",
				  {}});
		return;
	case pcipass::Readiness::State::claimable: {
		std::vector<std::string> moves;
		for (pcipass::PciAddress move : readiness.moves)
			moves.push_back(move.to_string());
		std::string message =
			name + " can be claimed: a claim moves " + join(moves, " ") + " to " + target;
		/* Readiness does not look at the driver: a bind needs it loaded or --allow-module-load. */
		if (!graph.host().driver_present(target))
			message += " once " + target + " is loaded";
		checks.push_back({"device", Check::Status::ok, message, {}});
		return;
	}
	case pcipass::Readiness::State::blocked:
		break;
	}

	for (const pcipass::Blocker &blocker : readiness.blockers)
		if (blocker.reason != "iommu_off")
			checks.push_back(blocker_check(blocker));
}

} /* namespace */

std::string_view status_name(Check::Status status)
{
	switch (status) {
	case Check::Status::ok: return "ok  ";
	case Check::Status::warning: return "warn";
	case Check::Status::failed: return "FAIL";
	}
	return "?";
}

boost::json::object to_json(const Check &check)
{
	const char *status = check.status == Check::Status::ok	    ? "ok"
			     : check.status == Check::Status::warning ? "warning"
								      : "failed";
	return {
		{"check", check.name},
		{"status", status},
		{"message", check.message},
		{"fix", check.fix},
	};
}

std::vector<Check> run_checks(pcipass::Host &host, const pcipass::DeviceGraph &graph,
			      const std::optional<pcipass::PciAddress> &address, const std::string &target)
{
	const HostFacts &facts = graph.host();

	std::vector<Check> checks;
	checks.push_back(iommu_check(facts));
	checks.push_back(driver_check(host, facts, target));
	checks.push_back(container_check(facts));
	for (const pcipass::Finding &finding : facts.findings)
		checks.push_back({"host", Check::Status::warning, finding.message,
				  "check " + quote_path(finding.path)});
	if (address)
		device_checks(graph, *address, target, checks);
	return checks;
}

} /* namespace pcipassctl */
