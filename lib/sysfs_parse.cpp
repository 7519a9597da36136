/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * Parsers for sysfs and procfs file content.
 */

#include "sysfs_parse.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>

namespace pcipass::detail {

namespace {

Error malformed(std::string_view subject, std::string_view text, std::string_view expected)
{
	return make_error(errc::malformed_attribute,
			  std::string(subject) + " holds " + quote_content(text) + ", expected " +
				  std::string(expected));
}

/* The text without one trailing newline, as sysfs attributes end. */
std::string_view strip_newline(std::string_view text)
{
	if (!text.empty() && text.back() == '\n')
		text.remove_suffix(1);
	return text;
}

bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

std::optional<uint64_t> hex_value(std::string_view digits, unsigned max_digits)
{
	if (digits.empty() || digits.size() > max_digits)
		return std::nullopt;

	uint64_t value = 0;
	const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, 16);
	if (ec != std::errc() || end != digits.data() + digits.size())
		return std::nullopt;
	return value;
}

std::string_view strip_hex_prefix(std::string_view text)
{
	if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
		text.remove_prefix(2);
	return text;
}

/* Splits text into lines without their newlines; a final newline gives no empty line. */
std::vector<std::string_view> split_lines(std::string_view text)
{
	std::vector<std::string_view> lines;
	while (!text.empty()) {
		const size_t end = text.find('\n');
		if (end == std::string_view::npos) {
			lines.push_back(text);
			break;
		}
		lines.push_back(text.substr(0, end));
		text.remove_prefix(end + 1);
	}
	return lines;
}

/* Whitespace-separated fields of one line. */
std::vector<std::string_view> split_fields(std::string_view line)
{
	std::vector<std::string_view> fields;
	size_t pos = 0;
	while (pos < line.size()) {
		while (pos < line.size() && is_space(line[pos]))
			pos++;
		const size_t start = pos;
		while (pos < line.size() && !is_space(line[pos]))
			pos++;
		if (pos > start)
			fields.push_back(line.substr(start, pos - start));
	}
	return fields;
}

/* The kernel escapes space, tab, newline and backslash in mount paths as \ooo. */
std::string decode_octal_escapes(std::string_view text)
{
	std::string decoded;
	decoded.reserve(text.size());
	for (size_t i = 0; i < text.size(); i++) {
		if (text[i] == '\\' && i + 3 < text.size()) {
			const std::string_view digits = text.substr(i + 1, 3);
			unsigned value = 0;
			const auto [end, ec] =
				std::from_chars(digits.data(), digits.data() + digits.size(), value, 8);
			if (ec == std::errc() && end == digits.data() + 3 && value < 256) {
				decoded += static_cast<char>(value);
				i += 3;
				continue;
			}
		}
		decoded += text[i];
	}
	return decoded;
}

uint16_t le16(std::string_view bytes, size_t offset)
{
	return static_cast<uint16_t>(static_cast<uint8_t>(bytes[offset]) |
				     (static_cast<uint8_t>(bytes[offset + 1]) << 8));
}

uint32_t le32(std::string_view bytes, size_t offset)
{
	return le16(bytes, offset) | (static_cast<uint32_t>(le16(bytes, offset + 2)) << 16);
}

/* "10DE:1F02" as the uevent prints PCI_ID and PCI_SUBSYS_ID. */
std::optional<std::pair<uint16_t, uint16_t>> parse_id_pair(std::string_view text)
{
	const size_t colon = text.find(':');
	if (colon == std::string_view::npos)
		return std::nullopt;
	const auto first = hex_value(text.substr(0, colon), 4);
	const auto second = hex_value(text.substr(colon + 1), 4);
	if (!first || !second)
		return std::nullopt;
	return std::pair<uint16_t, uint16_t>(static_cast<uint16_t>(*first),
					     static_cast<uint16_t>(*second));
}

/* Quotes text with control bytes, bytes from 0x7f and backslashes escaped, cut after limit bytes. */
std::string quote_bytes(std::string_view text, size_t limit)
{
	std::string quoted = "'";
	for (unsigned char c : text.substr(0, limit)) {
		if (c == '\n') {
			quoted += "\\n";
		} else if (c == '\\') {
			/* So that a literal "\x1b" in a name cannot pass for an escaped byte. */
			quoted += "\\\\";
		} else if (c < 0x20 || c >= 0x7f) {
			std::array<char, 8> escaped;
			std::snprintf(escaped.data(), escaped.size(), "\\x%02x", c);
			quoted += escaped.data();
		} else {
			quoted += static_cast<char>(c);
		}
	}
	if (text.size() > limit)
		quoted += "...";
	return quoted + "'";
}

bool is_message_safe(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-' || c == ':' || c == '+' || c == '@';
}

} /* namespace */

std::string quote_content(std::string_view text)
{
	return quote_bytes(text, 64);
}

std::string quote_path(std::string_view path)
{
	return quote_bytes(path, path.size());
}

std::string name_in_message(std::string_view name)
{
	if (!name.empty() && std::all_of(name.begin(), name.end(), is_message_safe))
		return std::string(name);
	return quote_content(name);
}

result<uint32_t> parse_hex_attribute(std::string_view text, unsigned max_digits) noexcept
{
	const std::string_view digits = strip_hex_prefix(strip_newline(text));
	const auto value = hex_value(digits, std::min(max_digits, 8u));
	if (!value)
		return malformed("the file", text,
				 "a hex number of at most " + std::to_string(max_digits) +
					 " digits such as '0x10de'");
	return static_cast<uint32_t>(*value);
}

result<long long> parse_int_attribute(std::string_view text) noexcept
{
	const std::string_view digits = strip_newline(text);
	long long value = 0;
	const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
	if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size())
		return malformed("the file", text, "a decimal integer");
	return value;
}

result<bool> parse_bool_attribute(std::string_view text) noexcept
{
	const std::string_view value = strip_newline(text);
	if (value == "1")
		return true;
	if (value == "0")
		return false;
	return malformed("the file", text, "'0' or '1'");
}

result<ConfigHeader> parse_config_header(std::string_view bytes) noexcept
{
	if (bytes.size() < 64)
		return make_error(errc::malformed_attribute,
				  "config holds " + std::to_string(bytes.size()) +
					  " bytes, expected at least the 64-byte standard header");

	ConfigHeader header;
	const uint32_t ids = le32(bytes, 0x00);
	const uint32_t class_revision = le32(bytes, 0x08);

	header.vendor = VendorId(static_cast<uint16_t>(ids & 0xffff));
	header.device = DeviceId(static_cast<uint16_t>(ids >> 16));
	header.revision = static_cast<uint8_t>(class_revision & 0xff);
	header.class_code = ClassCode(class_revision >> 8);
	header.header_type = static_cast<uint8_t>(bytes[0x0e]);

	/* A config read that fails completes with all ones (PCI_ERROR_RESPONSE). */
	header.inaccessible = ids == 0xffffffff && class_revision == 0xffffffff;
	header.ids_hidden = ids == 0xffffffff && !header.inaccessible;

	if (!header.inaccessible && (header.header_type & 0x7f) == 0) {
		header.subsystem_vendor = VendorId(le16(bytes, 0x2c));
		header.subsystem_device = DeviceId(le16(bytes, 0x2e));
	}

	return header;
}

result<std::vector<std::pair<std::string, std::string>>> parse_uevent(std::string_view text) noexcept
{
	std::vector<std::pair<std::string, std::string>> lines;
	for (std::string_view line : split_lines(text)) {
		if (line.empty())
			continue;
		const size_t equals = line.find('=');
		if (equals == std::string_view::npos || equals == 0)
			return malformed("uevent line", line, "KEY=VALUE");
		lines.emplace_back(std::string(line.substr(0, equals)),
				   std::string(line.substr(equals + 1)));
	}
	return lines;
}

std::optional<std::string_view>
uevent_value(const std::vector<std::pair<std::string, std::string>> &lines, std::string_view key)
{
	for (const auto &[name, value] : lines)
		if (name == key)
			return std::string_view(value);
	return std::nullopt;
}

result<PciUevent> parse_pci_uevent(std::string_view text) noexcept
{
	BOOST_OUTCOME_TRY(auto lines, parse_uevent(text));

	PciUevent uevent;
	if (const auto driver = uevent_value(lines, "DRIVER"))
		uevent.driver = std::string(*driver);

	const auto id = uevent_value(lines, "PCI_ID");
	const auto ids = id ? parse_id_pair(*id) : std::nullopt;
	if (!ids)
		return malformed("uevent", text, "a PCI_ID=VVVV:DDDD line");
	uevent.vendor = VendorId(ids->first);
	uevent.device = DeviceId(ids->second);

	/* Bridges have no subsystem IDs in their header, and the kernel then omits the line. */
	if (const auto subsystem = uevent_value(lines, "PCI_SUBSYS_ID")) {
		const auto subsystem_ids = parse_id_pair(*subsystem);
		if (!subsystem_ids)
			return malformed("uevent", text, "PCI_SUBSYS_ID=VVVV:DDDD");
		uevent.subsystem_vendor = VendorId(subsystem_ids->first);
		uevent.subsystem_device = DeviceId(subsystem_ids->second);
	}

	const auto class_text = uevent_value(lines, "PCI_CLASS");
	const auto class_value = class_text ? hex_value(*class_text, 6) : std::nullopt;
	if (!class_value)
		return malformed("uevent", text, "a PCI_CLASS line of at most six hex digits");
	uevent.class_code = ClassCode(static_cast<uint32_t>(*class_value));

	return uevent;
}

result<UsbUevent> parse_usb_uevent(std::string_view text) noexcept
{
	BOOST_OUTCOME_TRY(auto lines, parse_uevent(text));

	/* PRODUCT is "%x/%x/%x" (idVendor, idProduct, bcdDevice), TYPE is "%d/%d/%d". */
	const auto product = uevent_value(lines, "PRODUCT");
	const auto type = uevent_value(lines, "TYPE");
	if (!product || !type)
		return malformed("USB uevent", text, "PRODUCT= and TYPE= lines");

	const size_t slash = product->find('/');
	const size_t second_slash =
		slash == std::string_view::npos ? slash : product->find('/', slash + 1);
	const auto vendor = hex_value(product->substr(0, slash), 4);
	const auto id = slash == std::string_view::npos
				? std::nullopt
				: hex_value(product->substr(slash + 1, second_slash - slash - 1), 4);
	if (!vendor || !id)
		return malformed("USB uevent", text, "PRODUCT=vendor/product/bcdDevice in hex");

	const std::string_view class_text = type->substr(0, type->find('/'));
	unsigned device_class = 0;
	const auto [end, ec] = std::from_chars(class_text.data(),
					       class_text.data() + class_text.size(), device_class);
	if (class_text.empty() || ec != std::errc() || end != class_text.data() + class_text.size() ||
	    device_class > 255)
		return malformed("USB uevent", text, "TYPE=class/subclass/protocol in decimal");

	UsbUevent uevent;
	uevent.vendor = static_cast<uint16_t>(*vendor);
	uevent.product = static_cast<uint16_t>(*id);
	uevent.device_class = static_cast<uint8_t>(device_class);
	return uevent;
}

result<std::vector<Resource>> parse_resource(std::string_view text) noexcept
{
	std::vector<Resource> resources;
	for (std::string_view line : split_lines(text)) {
		const auto fields = split_fields(line);
		if (fields.size() != 3)
			return malformed("resource line", line, "three hex numbers");

		std::array<uint64_t, 3> values{};
		for (size_t i = 0; i < 3; i++) {
			const std::string_view digits = strip_hex_prefix(fields[i]);
			const auto value = hex_value(digits, 16);
			if (!value || digits.size() == fields[i].size())
				return malformed("resource line", line, "three numbers such as '0x00000000fd000000'");
			values[i] = *value;
		}

		Resource resource{values[0], values[1], values[2]};
		if (resource.used() && resource.end < resource.start)
			return malformed("resource line", line, "an end not below its start");
		resources.push_back(resource);
	}
	return resources;
}

result<std::optional<std::string>> parse_driver_override(std::string_view text) noexcept
{
	if (text.empty())
		return malformed("driver_override", text, "'(null)' or a driver name on one line");

	const std::string_view value = strip_newline(text);
	if (value == "(null)")
		return std::optional<std::string>();

	for (unsigned char c : value)
		if (c <= 0x20 || c >= 0x7f)
			return malformed("driver_override", text, "'(null)' or a driver name on one line");

	return std::optional<std::string>(std::string(value));
}

result<std::vector<std::string>> parse_reset_methods(std::string_view text) noexcept
{
	const std::string_view line = strip_newline(text);
	if (line.find('\n') != std::string_view::npos)
		return malformed("reset_method", text, "one line of method names");

	std::vector<std::string> methods;
	for (std::string_view field : split_fields(line))
		methods.emplace_back(field);
	return methods;
}

result<std::vector<std::string>> parse_proc_modules(std::string_view text) noexcept
{
	std::vector<std::string> modules;
	for (std::string_view line : split_lines(text)) {
		const auto fields = split_fields(line);
		if (fields.empty())
			continue;
		/* name size refcount dependencies state address */
		if (fields.size() < 3)
			return malformed("proc/modules line", line,
					 "'name size refcount dependencies state address'");
		modules.emplace_back(fields[0]);
	}
	std::sort(modules.begin(), modules.end());
	modules.erase(std::unique(modules.begin(), modules.end()), modules.end());
	return modules;
}

std::string parse_cmdline(std::string_view text)
{
	return std::string(strip_newline(text));
}

std::optional<std::string> cmdline_parameter(std::string_view cmdline, std::string_view name)
{
	std::optional<std::string> found;
	size_t pos = 0;

	while (pos < cmdline.size()) {
		while (pos < cmdline.size() && (is_space(cmdline[pos]) || cmdline[pos] == '\n'))
			pos++;
		if (pos >= cmdline.size())
			break;

		/* Like the kernel's next_arg(): quotes group spaces and are dropped. */
		std::string argument;
		bool in_quote = false;
		while (pos < cmdline.size()) {
			const char c = cmdline[pos];
			if (c == '"') {
				in_quote = !in_quote;
			} else if (!in_quote && (is_space(c) || c == '\n')) {
				break;
			} else {
				argument += c;
			}
			pos++;
		}

		/* Everything after "--" goes to init, not to the kernel. */
		if (argument == "--")
			break;

		const size_t equals = argument.find('=');
		const std::string_view key = std::string_view(argument).substr(0, equals);
		if (key == name)
			found = equals == std::string::npos ? std::string() : argument.substr(equals + 1);
	}

	return found;
}

result<std::vector<Mount>> parse_proc_mounts(std::string_view text) noexcept
{
	std::vector<Mount> mounts;
	for (std::string_view line : split_lines(text)) {
		const auto fields = split_fields(line);
		if (fields.empty())
			continue;
		if (fields.size() < 3)
			return malformed("proc/mounts line", line, "'source target fstype options 0 0'");
		mounts.push_back(Mount{decode_octal_escapes(fields[0]), decode_octal_escapes(fields[1]),
				       std::string(fields[2])});
	}
	return mounts;
}

result<std::vector<std::string>> parse_proc_swaps(std::string_view text) noexcept
{
	std::vector<std::string> swaps;
	const auto lines = split_lines(text);
	for (size_t i = 0; i < lines.size(); i++) {
		const auto fields = split_fields(lines[i]);
		if (fields.empty() || (i == 0 && fields[0] == "Filename"))
			continue;
		if (fields.size() < 2)
			return malformed("proc/swaps line", lines[i], "'filename type size used priority'");
		swaps.push_back(decode_octal_escapes(fields[0]));
	}
	return swaps;
}

result<std::vector<std::string>> parse_default_routes(std::string_view text) noexcept
{
	constexpr uint64_t route_up = 0x0001;

	std::vector<std::string> interfaces;
	const auto lines = split_lines(text);
	for (size_t i = 0; i < lines.size(); i++) {
		const auto fields = split_fields(lines[i]);
		if (fields.empty() || (i == 0 && fields[0] == "Iface"))
			continue;
		/* Iface Destination Gateway Flags RefCnt Use Metric Mask MTU Window IRTT */
		if (fields.size() < 8)
			return malformed("proc/net/route line", lines[i], "eleven fields");

		const auto destination = hex_value(fields[1], 8);
		const auto flags = hex_value(fields[3], 8);
		const auto mask = hex_value(fields[7], 8);
		if (!destination || !flags || !mask)
			return malformed("proc/net/route line", lines[i], "hex destination, flags and mask");

		if (*destination == 0 && *mask == 0 && (*flags & route_up))
			interfaces.emplace_back(fields[0]);
	}
	std::sort(interfaces.begin(), interfaces.end());
	interfaces.erase(std::unique(interfaces.begin(), interfaces.end()), interfaces.end());
	return interfaces;
}

result<std::vector<std::string>> parse_default_routes_ipv6(std::string_view text) noexcept
{
	constexpr uint64_t route_up = 0x0001;
	constexpr uint64_t route_reject = 0x0200;

	std::vector<std::string> interfaces;
	for (std::string_view line : split_lines(text)) {
		const auto fields = split_fields(line);
		if (fields.empty())
			continue;
		/* destination prefix source prefix next-hop metric refcount use flags device */
		if (fields.size() < 10 || fields[0].size() != 32)
			return malformed("proc/net/ipv6_route line", line, "ten fields");

		const bool any_destination = fields[0].find_first_not_of('0') == std::string_view::npos;
		const auto prefix = hex_value(fields[1], 2);
		const auto flags = hex_value(fields[8], 8);
		if (!prefix || !flags)
			return malformed("proc/net/ipv6_route line", line, "hex prefix length and flags");

		/* The kernel keeps an unreachable ::/0 on lo; it carries no traffic. */
		if (any_destination && *prefix == 0 && (*flags & route_up) && !(*flags & route_reject))
			interfaces.emplace_back(fields[9]);
	}
	std::sort(interfaces.begin(), interfaces.end());
	interfaces.erase(std::unique(interfaces.begin(), interfaces.end()), interfaces.end());
	return interfaces;
}

result<std::vector<FramebufferEntry>> parse_proc_fb(std::string_view text) noexcept
{
	std::vector<FramebufferEntry> entries;
	for (std::string_view line : split_lines(text)) {
		if (line.empty())
			continue;
		const size_t space = line.find(' ');
		unsigned index = 0;
		const std::string_view number = line.substr(0, space);
		const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), index);
		if (space == std::string_view::npos || number.empty() || ec != std::errc() ||
		    end != number.data() + number.size())
			return malformed("proc/fb line", line, "'index id' such as '0 EFI VGA'");
		entries.push_back(FramebufferEntry{index, std::string(line.substr(space + 1))});
	}
	return entries;
}

std::optional<std::string> firmware_framebuffer_name(std::string_view fb_id)
{
	/*
	 * fb_fix_screeninfo.id of the firmware framebuffers efifb, vesafb,
	 * simplefb and vga16fb. The DRM ones name their fbdev emulation
	 * "<driver>drmfb": simpledrm, and efidrm and vesadrm since Linux 6.16.
	 */
	static constexpr std::array<std::pair<std::string_view, std::string_view>, 7> names = {{
		{"EFI VGA", "efifb"},
		{"VESA VGA", "vesafb"},
		{"simple", "simplefb"},
		{"VGA16 VGA", "vga16fb"},
		{"simpledrmdrmfb", "simpledrm"},
		{"efidrmdrmfb", "efidrm"},
		{"vesadrmdrmfb", "vesadrm"},
	}};

	for (const auto &[id, name] : names)
		if (fb_id == id)
			return std::string(name);
	return std::nullopt;
}

CpuInfo parse_cpuinfo(std::string_view text)
{
	CpuInfo info;
	bool have_vendor = false;
	bool have_flags = false;

	for (std::string_view line : split_lines(text)) {
		const size_t colon = line.find(':');
		if (colon == std::string_view::npos)
			continue;
		std::string_view key = line.substr(0, colon);
		while (!key.empty() && is_space(key.back()))
			key.remove_suffix(1);
		std::string_view value = line.substr(colon + 1);
		while (!value.empty() && is_space(value.front()))
			value.remove_prefix(1);

		if (key == "vendor_id" && !have_vendor) {
			info.vendor = std::string(value);
			have_vendor = true;
		} else if (key == "flags" && !have_flags) {
			for (std::string_view flag : split_fields(value))
				if (flag == "hypervisor")
					info.hypervisor = true;
			have_flags = true;
		}
		if (have_vendor && have_flags)
			break;
	}
	return info;
}

result<std::string> resolve_link_target(std::string_view base, std::string_view target) noexcept
{
	if (target.empty() || target.front() == '/')
		return make_error(errc::escapes_root,
				  "link target " + quote_content(target) + " in '" + std::string(base) +
					  "' is absolute or empty, so it may lead outside the host root; "
					  "sysfs links are relative");

	std::vector<std::string_view> components;
	auto push = [&](std::string_view path) -> bool {
		size_t pos = 0;
		while (pos <= path.size()) {
			size_t end = path.find('/', pos);
			if (end == std::string_view::npos)
				end = path.size();
			const std::string_view component = path.substr(pos, end - pos);
			if (component == "..") {
				if (components.empty())
					return false;
				components.pop_back();
			} else if (!component.empty() && component != ".") {
				components.push_back(component);
			}
			pos = end + 1;
		}
		return true;
	};

	if (!push(base) || !push(target))
		return make_error(errc::escapes_root,
				  "link target " + quote_content(target) + " in '" + std::string(base) +
					  "' climbs above the host root");

	std::string resolved;
	for (std::string_view component : components) {
		if (!resolved.empty())
			resolved += '/';
		resolved += component;
	}
	return resolved;
}

result<unsigned> parse_iommu_group_path(std::string_view resolved) noexcept
{
	constexpr std::string_view prefix = "sys/kernel/iommu_groups/";
	if (resolved.substr(0, prefix.size()) != prefix)
		return malformed("iommu_group link", resolved, "a link into sys/kernel/iommu_groups");

	const std::string_view number = resolved.substr(prefix.size());
	unsigned group = 0;
	const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), group);
	if (number.empty() || ec != std::errc() || end != number.data() + number.size())
		return malformed("iommu_group link", resolved, "a decimal group number");
	return group;
}

std::string_view path_basename(std::string_view path)
{
	const size_t slash = path.rfind('/');
	return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string_view path_dirname(std::string_view path)
{
	const size_t slash = path.rfind('/');
	return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
}

} /* namespace pcipass::detail */
