/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The topology document: strict reading field by field, each error naming
 * its JSON pointer, and writing back in the same shape.
 */

#include <pcipass/testing/topology.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <fcntl.h>
#include <unistd.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "json_text.hpp"
#include "sysfs_parse.hpp"
#include "topology_names.hpp"
#include "unique_fd.hpp"

namespace pcipass::testing {

namespace json = boost::json;

using detail::quote_path;

namespace {

/* The largest topology file read, far above the 4,096-function catalogue host. */
constexpr size_t max_topology_size = 256 * 1024 * 1024;

/* The value as it appears in messages: its JSON text, cut short. */
std::string found_text(const json::value &value)
{
	std::string text = json::serialize(value);
	if (text.size() > 48)
		text = text.substr(0, 45) + "...";
	return text;
}

std::string join(std::initializer_list<std::string_view> names)
{
	std::string text;
	for (std::string_view name : names) {
		if (!text.empty())
			text += ", ";
		text += name;
	}
	return text;
}

/* The first error found while reading; later ones would only repeat its cause. */
class Problems
{
public:
	void report(const std::string &pointer, const std::string &message)
	{
		if (!error_)
			error_ = make_error(errc::invalid_argument,
					    "invalid topology at " + pointer + ": " + message);
	}

	bool failed() const { return error_.has_value(); }
	const Error &error() const { return *error_; }

private:
	std::optional<Error> error_;
};

/*
 * Reads the members of one JSON object. A missing optional member gives
 * the default. A member of the wrong type or form is reported with its
 * pointer, and so is a member the object does not define.
 */
class ObjectReader
{
public:
	ObjectReader(const json::value &value, std::string pointer, std::string_view object_name,
		     std::initializer_list<std::string_view> fields, Problems &problems)
		: pointer_(std::move(pointer)), problems_(problems)
	{
		object_ = value.if_object();
		if (!object_) {
			problems_.report(where(), "expected " + std::string(object_name) +
							  " as an object, found " + found_text(value));
			return;
		}

		for (const auto &member : *object_) {
			const std::string_view key(member.key().data(), member.key().size());
			if (std::find(fields.begin(), fields.end(), key) == fields.end())
				problems_.report(pointer_ + "/" + detail::json_pointer_token(key),
						 "unknown field; " + std::string(object_name) +
							 " has the fields " + join(fields));
		}
	}

	/* The pointer of the object itself, "/" for the document. */
	std::string where() const { return pointer_.empty() ? std::string("/") : pointer_; }
	std::string where(std::string_view key) const
	{
		return pointer_ + "/" + detail::json_pointer_token(key);
	}

	const json::value *find(std::string_view key) const
	{
		if (!object_)
			return nullptr;
		return object_->if_contains(json::string_view(key.data(), key.size()));
	}

	void missing(std::string_view key, std::string_view expected)
	{
		problems_.report(where(key), "required field is missing; expected " +
						     std::string(expected));
	}

	void wrong(std::string_view key, std::string_view expected, const json::value &value)
	{
		problems_.report(where(key), "expected " + std::string(expected) + ", found " +
						     found_text(value));
	}

	std::string string(std::string_view key, bool required = false)
	{
		const json::value *value = find(key);
		if (!value) {
			if (required)
				missing(key, "a string");
			return {};
		}
		if (!value->is_string()) {
			wrong(key, "a string", *value);
			return {};
		}
		const json::string &text = value->get_string();
		return std::string(text.data(), text.size());
	}

	bool boolean(std::string_view key, bool fallback)
	{
		const json::value *value = find(key);
		if (!value)
			return fallback;
		if (!value->is_bool()) {
			wrong(key, "true or false", *value);
			return fallback;
		}
		return value->get_bool();
	}

	/* Reads an integer in [min, max]. JSON numbers with a fraction or exponent are rejected. */
	std::optional<int64_t> integer(std::string_view key, int64_t min, int64_t max,
				       bool required = false)
	{
		const std::string expected = "an integer from " + std::to_string(min) + " to " +
					     std::to_string(max);
		const json::value *value = find(key);
		if (!value) {
			if (required)
				missing(key, expected);
			return std::nullopt;
		}

		std::optional<int64_t> number;
		if (value->is_int64())
			number = value->get_int64();
		else if (value->is_uint64() && value->get_uint64() <= uint64_t(INT64_MAX))
			number = int64_t(value->get_uint64());
		if (!number || *number < min || *number > max) {
			wrong(key, expected, *value);
			return std::nullopt;
		}
		return number;
	}

	template<class Id>
	Id id(std::string_view key, bool required, std::string_view example)
	{
		const std::string expected = "four hex digits such as \"" + std::string(example) + "\"";
		const json::value *value = find(key);
		if (!value) {
			if (required)
				missing(key, expected);
			return Id();
		}

		auto parsed = value->is_string() ? Id::parse(std::string_view(value->get_string()))
						 : result<Id>(make_error(errc::invalid_argument, {}));
		if (!parsed) {
			wrong(key, expected, *value);
			return Id();
		}
		return parsed.value();
	}

	ClassCode class_code(std::string_view key)
	{
		constexpr std::string_view expected = "six hex digits such as \"030000\"";
		const json::value *value = find(key);
		if (!value) {
			missing(key, expected);
			return ClassCode();
		}

		auto parsed = value->is_string()
				      ? ClassCode::parse(std::string_view(value->get_string()))
				      : result<ClassCode>(make_error(errc::invalid_argument, {}));
		if (!parsed) {
			wrong(key, expected, *value);
			return ClassCode();
		}
		return parsed.value();
	}

	/* A register byte written as exactly two hex digits ("a1", "80"). */
	uint8_t byte(std::string_view key, std::string_view example)
	{
		const json::value *value = find(key);
		if (!value)
			return 0;

		const std::string expected = "two hex digits such as \"" + std::string(example) + "\"";
		const json::string *text = value->if_string();
		unsigned number = 0;
		if (!text || text->size() != 2) {
			wrong(key, expected, *value);
			return 0;
		}
		const auto [end, ec] = std::from_chars(text->data(), text->data() + 2, number, 16);
		if (ec != std::errc() || end != text->data() + 2) {
			wrong(key, expected, *value);
			return 0;
		}
		return static_cast<uint8_t>(number);
	}

	std::optional<PciAddress> address(std::string_view key, bool required = false)
	{
		constexpr std::string_view expected = "a PCI address such as \"0000:01:00.0\"";
		const json::value *value = find(key);
		if (!value) {
			if (required)
				missing(key, expected);
			return std::nullopt;
		}

		auto parsed = value->is_string()
				      ? PciAddress::parse(std::string_view(value->get_string()))
				      : result<PciAddress>(make_error(errc::invalid_argument, {}));
		if (!parsed) {
			wrong(key, expected, *value);
			return std::nullopt;
		}
		return parsed.value();
	}

	std::vector<std::string> strings(std::string_view key)
	{
		std::vector<std::string> list;
		const json::array *array = this->array(key, "an array of strings");
		if (!array)
			return list;

		for (size_t i = 0; i < array->size(); i++) {
			const json::value &item = (*array)[i];
			if (!item.is_string()) {
				problems_.report(where(key) + "/" + std::to_string(i),
						 "expected a string, found " + found_text(item));
				return {};
			}
			list.emplace_back(item.get_string().data(), item.get_string().size());
		}
		return list;
	}

	/* "VVVV:DDDD" pairs; "ffff" as the device matches any device of the vendor. */
	std::vector<IdMatch> id_matches(std::string_view key)
	{
		std::vector<IdMatch> list;
		const std::vector<std::string> texts = strings(key);
		for (size_t i = 0; i < texts.size(); i++) {
			const std::string &text = texts[i];
			result<VendorId> vendor = make_error(errc::invalid_argument, {});
			result<DeviceId> device = make_error(errc::invalid_argument, {});
			if (text.size() == 9 && text[4] == ':') {
				vendor = VendorId::parse(std::string_view(text).substr(0, 4));
				device = DeviceId::parse(std::string_view(text).substr(5));
			}
			if (!vendor || !device) {
				problems_.report(where(key) + "/" + std::to_string(i),
						 "expected vendor:device as \"8086:1592\" (device "
						 "\"ffff\" matches any), found \"" + text + "\"");
				return {};
			}
			list.push_back(IdMatch{vendor.value(), device.value()});
		}
		return list;
	}

	const json::array *array(std::string_view key, std::string_view expected)
	{
		const json::value *value = find(key);
		if (!value)
			return nullptr;
		if (!value->is_array()) {
			wrong(key, expected, *value);
			return nullptr;
		}
		return &value->get_array();
	}

	const json::object *object(std::string_view key, std::string_view expected)
	{
		const json::value *value = find(key);
		if (!value)
			return nullptr;
		if (!value->is_object()) {
			wrong(key, expected, *value);
			return nullptr;
		}
		return &value->get_object();
	}

private:
	std::string pointer_;
	Problems &problems_;
	const json::object *object_ = nullptr;
};

TopologyDriver read_driver(const json::value &value, const std::string &pointer,
			   Problems &problems)
{
	ObjectReader reader(value, pointer, "a driver",
			    {"name", "module", "ids", "dynamic_ids", "sriov", "probe_errno"},
			    problems);
	TopologyDriver driver;
	driver.name = reader.string("name", true);
	driver.module = reader.string("module");
	driver.ids = reader.id_matches("ids");
	driver.dynamic_ids = reader.id_matches("dynamic_ids");
	driver.sriov = reader.boolean("sriov", false);
	driver.probe_errno = int(reader.integer("probe_errno", 0, 4095).value_or(0));
	return driver;
}

TopologySriov read_sriov(const json::value &value, const std::string &pointer, Problems &problems)
{
	ObjectReader reader(value, pointer, "an SR-IOV capability",
			    {"total_vfs", "num_vfs", "drivers_autoprobe", "vf_device",
			     "first_vf_offset", "vf_stride", "first_vf_group", "vf_driver"},
			    problems);
	TopologySriov sriov;
	sriov.total_vfs = unsigned(reader.integer("total_vfs", 0, 65535, true).value_or(0));
	sriov.num_vfs = unsigned(reader.integer("num_vfs", 0, 65535).value_or(0));
	sriov.drivers_autoprobe = reader.boolean("drivers_autoprobe", true);
	sriov.vf_device = reader.id<DeviceId>("vf_device", true, "1889");
	sriov.first_vf_offset = unsigned(reader.integer("first_vf_offset", 1, 65535).value_or(1));
	sriov.vf_stride = unsigned(reader.integer("vf_stride", 1, 65535).value_or(1));
	if (auto group = reader.integer("first_vf_group", 0, UINT32_MAX))
		sriov.first_vf_group = unsigned(*group);
	sriov.vf_driver = reader.string("vf_driver");
	return sriov;
}

TopologyConsumer read_consumer(const json::value &value, const std::string &pointer,
			       Problems &problems)
{
	ObjectReader reader(value, pointer, "a consumer",
			    {"kind", "name", "description", "default_route", "mountpoint", "driver"},
			    problems);
	TopologyConsumer consumer;

	const std::string kind = reader.string("kind", true);
	if (const auto parsed = detail::consumer_kind_from_name(kind))
		consumer.kind = *parsed;
	else if (!problems.failed())
		problems.report(reader.where("kind"),
				"expected one of " + detail::consumer_kind_names() + ", found \"" +
					kind + "\"");

	consumer.name = reader.string("name", true);
	consumer.description = reader.string("description");
	consumer.default_route = reader.boolean("default_route", false);
	consumer.mountpoint = reader.string("mountpoint");
	consumer.driver = reader.string("driver");
	return consumer;
}

TopologyDevice read_device(const json::value &value, const std::string &pointer, Problems &problems)
{
	ObjectReader reader(value, pointer, "a device",
			    {"address", "parent", "physfn", "vendor", "device", "subsystem_vendor",
			     "subsystem_device", "class", "revision", "header_type", "vendor_name",
			     "device_name", "driver", "driver_override", "iommu_group", "numa_node",
			     "boot_vga", "reset_methods", "sriov", "inaccessible", "consumers"},
			    problems);
	TopologyDevice device;

	device.address = reader.address("address", true).value_or(PciAddress());
	device.parent = reader.address("parent");
	device.physfn = reader.address("physfn");
	device.vendor = reader.id<VendorId>("vendor", true, "10de");
	device.device = reader.id<DeviceId>("device", true, "1f02");
	device.subsystem_vendor = reader.id<VendorId>("subsystem_vendor", false, "1462");
	device.subsystem_device = reader.id<DeviceId>("subsystem_device", false, "3751");
	device.class_code = reader.class_code("class");
	device.revision = reader.byte("revision", "a1");
	device.header_type = reader.byte("header_type", "80");
	device.vendor_name = reader.string("vendor_name");
	device.device_name = reader.string("device_name");
	device.driver = reader.string("driver");
	device.driver_override = reader.string("driver_override");
	if (auto group = reader.integer("iommu_group", 0, UINT32_MAX))
		device.iommu_group = unsigned(*group);
	device.numa_node = int(reader.integer("numa_node", -1, 1023).value_or(-1));
	if (reader.find("boot_vga"))
		device.boot_vga = reader.boolean("boot_vga", false);
	device.reset_methods = reader.strings("reset_methods");
	if (const json::value *sriov = reader.find("sriov"))
		device.sriov = read_sriov(*sriov, reader.where("sriov"), problems);
	device.inaccessible = reader.boolean("inaccessible", false);

	if (const json::array *consumers = reader.array("consumers", "an array of consumers")) {
		for (size_t i = 0; i < consumers->size(); i++)
			device.consumers.push_back(read_consumer(
				(*consumers)[i], reader.where("consumers") + "/" + std::to_string(i),
				problems));
	}
	return device;
}

std::vector<Holder> read_holders(const json::value &value, const std::string &pointer,
				 Problems &problems)
{
	std::vector<Holder> holders;
	const json::array *array = value.if_array();
	if (!array) {
		problems.report(pointer, "expected an array of processes, found " + found_text(value));
		return holders;
	}

	for (size_t i = 0; i < array->size(); i++) {
		ObjectReader reader((*array)[i], pointer + "/" + std::to_string(i), "a process",
				    {"pid", "command"}, problems);
		Holder holder;
		holder.pid = pid_t(reader.integer("pid", 1, 4194304, true).value_or(0));
		holder.command = reader.string("command", true);
		holders.push_back(std::move(holder));
	}
	return holders;
}

Topology read_topology(const json::value &document, Problems &problems)
{
	ObjectReader reader(document, "", "a topology",
			    {"schema", "description", "kernel_cmdline", "cpu_vendor", "iommu_units",
			     "vfio_container", "modules", "available_modules", "drivers", "devices",
			     "holders"},
			    problems);
	Topology topology;
	if (problems.failed())
		return topology;

	/* The schema decides how everything else reads, so check it first. */
	const json::value *schema = reader.find("schema");
	const std::string expected_schema = "\"" + std::string(topology_schema) + "\"";
	if (!schema) {
		reader.missing("schema", expected_schema);
		return topology;
	}
	if (!schema->is_string() || schema->get_string() != topology_schema) {
		reader.wrong("schema", expected_schema, *schema);
		return topology;
	}

	topology.description = reader.string("description");
	topology.kernel_cmdline = reader.string("kernel_cmdline");
	if (reader.find("cpu_vendor"))
		topology.cpu_vendor = reader.string("cpu_vendor");
	topology.iommu_units = reader.strings("iommu_units");
	topology.vfio_container = reader.boolean("vfio_container", true);
	topology.modules = reader.strings("modules");
	topology.available_modules = reader.strings("available_modules");

	if (const json::array *drivers = reader.array("drivers", "an array of drivers")) {
		for (size_t i = 0; i < drivers->size(); i++)
			topology.drivers.push_back(read_driver(
				(*drivers)[i], "/drivers/" + std::to_string(i), problems));
	}

	if (const json::array *devices = reader.array("devices", "an array of devices")) {
		topology.devices.reserve(devices->size());
		for (size_t i = 0; i < devices->size(); i++)
			topology.devices.push_back(read_device(
				(*devices)[i], "/devices/" + std::to_string(i), problems));
	}

	if (const json::object *holders = reader.object("holders", "an object of device nodes")) {
		for (const auto &member : *holders) {
			const std::string path(member.key().data(), member.key().size());
			topology.holders[path] = read_holders(
				member.value(), "/holders/" + detail::json_pointer_token(path),
				problems);
		}
	}
	return topology;
}

json::array id_matches_to_json(const std::vector<IdMatch> &ids)
{
	json::array array;
	for (const IdMatch &id : ids)
		array.emplace_back(id_pair_string(id.vendor, id.device));
	return array;
}

json::array strings_to_json(const std::vector<std::string> &strings)
{
	return json::array(strings.begin(), strings.end());
}

std::string byte_text(uint8_t value)
{
	std::array<char, 4> text;
	std::snprintf(text.data(), text.size(), "%02x", value);
	return text.data();
}

json::object driver_to_json(const TopologyDriver &driver)
{
	json::object object;
	object["name"] = driver.name;
	if (!driver.module.empty())
		object["module"] = driver.module;
	if (!driver.ids.empty())
		object["ids"] = id_matches_to_json(driver.ids);
	if (!driver.dynamic_ids.empty())
		object["dynamic_ids"] = id_matches_to_json(driver.dynamic_ids);
	if (driver.sriov)
		object["sriov"] = true;
	if (driver.probe_errno != 0)
		object["probe_errno"] = driver.probe_errno;
	return object;
}

json::object sriov_to_json(const TopologySriov &sriov)
{
	const TopologySriov defaults;
	json::object object;
	object["total_vfs"] = sriov.total_vfs;
	if (sriov.num_vfs != defaults.num_vfs)
		object["num_vfs"] = sriov.num_vfs;
	if (sriov.drivers_autoprobe != defaults.drivers_autoprobe)
		object["drivers_autoprobe"] = sriov.drivers_autoprobe;
	object["vf_device"] = sriov.vf_device.to_string();
	if (sriov.first_vf_offset != defaults.first_vf_offset)
		object["first_vf_offset"] = sriov.first_vf_offset;
	if (sriov.vf_stride != defaults.vf_stride)
		object["vf_stride"] = sriov.vf_stride;
	if (sriov.first_vf_group)
		object["first_vf_group"] = *sriov.first_vf_group;
	if (!sriov.vf_driver.empty())
		object["vf_driver"] = sriov.vf_driver;
	return object;
}

json::object consumer_to_json(const TopologyConsumer &consumer)
{
	json::object object;
	object["kind"] = detail::consumer_kind_to_name(consumer.kind);
	object["name"] = consumer.name;
	if (!consumer.description.empty())
		object["description"] = consumer.description;
	if (consumer.default_route)
		object["default_route"] = true;
	if (!consumer.mountpoint.empty())
		object["mountpoint"] = consumer.mountpoint;
	if (!consumer.driver.empty())
		object["driver"] = consumer.driver;
	return object;
}

json::object device_to_json(const TopologyDevice &device)
{
	json::object object;
	object["address"] = device.address.to_string();
	if (device.parent)
		object["parent"] = device.parent->to_string();
	if (device.physfn)
		object["physfn"] = device.physfn->to_string();
	object["vendor"] = device.vendor.to_string();
	object["device"] = device.device.to_string();
	object["subsystem_vendor"] = device.subsystem_vendor.to_string();
	object["subsystem_device"] = device.subsystem_device.to_string();
	object["class"] = device.class_code.to_string();
	if (device.revision != 0)
		object["revision"] = byte_text(device.revision);
	if (device.header_type != 0)
		object["header_type"] = byte_text(device.header_type);
	if (!device.vendor_name.empty())
		object["vendor_name"] = device.vendor_name;
	if (!device.device_name.empty())
		object["device_name"] = device.device_name;
	if (!device.driver.empty())
		object["driver"] = device.driver;
	if (!device.driver_override.empty())
		object["driver_override"] = device.driver_override;
	if (device.iommu_group)
		object["iommu_group"] = *device.iommu_group;
	if (device.numa_node != -1)
		object["numa_node"] = device.numa_node;
	if (device.boot_vga)
		object["boot_vga"] = *device.boot_vga;
	if (!device.reset_methods.empty())
		object["reset_methods"] = strings_to_json(device.reset_methods);
	if (device.sriov)
		object["sriov"] = sriov_to_json(*device.sriov);
	if (device.inaccessible)
		object["inaccessible"] = true;
	if (!device.consumers.empty()) {
		json::array consumers;
		for (const TopologyConsumer &consumer : device.consumers)
			consumers.push_back(consumer_to_json(consumer));
		object["consumers"] = std::move(consumers);
	}
	return object;
}

} /* namespace */

const TopologyDevice *Topology::find(PciAddress address) const
{
	for (const TopologyDevice &device : devices) {
		if (device.address == address)
			return &device;
	}
	return nullptr;
}

TopologyDevice *Topology::find(PciAddress address)
{
	return const_cast<TopologyDevice *>(std::as_const(*this).find(address));
}

const TopologyDriver *Topology::driver(std::string_view name) const
{
	for (const TopologyDriver &driver : drivers) {
		if (driver.name == name)
			return &driver;
	}
	return nullptr;
}

result<Topology> parse_topology(std::string_view text) noexcept
{
	try {
		BOOST_OUTCOME_TRY(auto document, detail::parse_json_strict(text, "topology"));

		Problems problems;
		Topology topology = read_topology(document, problems);
		if (problems.failed())
			return problems.error();

		BOOST_OUTCOME_TRY(validate_topology(topology));

		return topology;
	} catch (const std::bad_alloc &) {
		return make_error(errc::out_of_memory, "out of memory while reading a topology");
	} catch (const std::exception &e) {
		return make_error(errc::internal,
				  std::string("unexpected failure while reading a topology: ") + e.what());
	}
}

result<Topology> load_topology(const std::string &file) noexcept
{
	try {
		const detail::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
		if (!fd.valid())
			return make_sys_error(errno, "cannot open topology file " + quote_path(file), {},
					      file);

		std::string text;
		std::array<char, 65536> buffer;
		for (;;) {
			const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return make_sys_error(errno, "cannot read topology file " + quote_path(file),
						      {}, file);
			if (n == 0)
				break;
			text.append(buffer.data(), size_t(n));
			if (text.size() > max_topology_size)
				return make_error(errc::invalid_argument,
						  "topology file " + quote_path(file) + " is larger than " +
							  std::to_string(max_topology_size) +
							  " bytes, the largest topology pcipass reads",
						  {}, file);
		}

		auto topology = parse_topology(text);
		if (!topology) {
			Error error = topology.error();
			error.message += " (in " + quote_path(file) + ")";
			error.path = file;
			return error;
		}
		return topology;
	} catch (const std::bad_alloc &) {
		return make_error(errc::out_of_memory, "out of memory while reading " + quote_path(file));
	}
}

std::string to_json(const Topology &topology)
{
	const Topology defaults;
	json::object document;

	document["schema"] = topology_schema;
	if (!topology.description.empty())
		document["description"] = topology.description;
	if (!topology.kernel_cmdline.empty())
		document["kernel_cmdline"] = topology.kernel_cmdline;
	if (topology.cpu_vendor != defaults.cpu_vendor)
		document["cpu_vendor"] = topology.cpu_vendor;
	if (!topology.iommu_units.empty())
		document["iommu_units"] = strings_to_json(topology.iommu_units);
	if (topology.vfio_container != defaults.vfio_container)
		document["vfio_container"] = topology.vfio_container;
	if (!topology.modules.empty())
		document["modules"] = strings_to_json(topology.modules);
	if (!topology.available_modules.empty())
		document["available_modules"] = strings_to_json(topology.available_modules);

	json::array drivers;
	for (const TopologyDriver &driver : topology.drivers)
		drivers.push_back(driver_to_json(driver));
	document["drivers"] = std::move(drivers);

	json::array devices;
	devices.reserve(topology.devices.size());
	for (const TopologyDevice &device : topology.devices)
		devices.push_back(device_to_json(device));
	document["devices"] = std::move(devices);

	if (!topology.holders.empty()) {
		json::object holders;
		for (const auto &[path, processes] : topology.holders) {
			json::array list;
			for (const Holder &holder : processes)
				list.push_back(json::object{{"pid", holder.pid}, {"command", holder.command}});
			holders[path] = std::move(list);
		}
		document["holders"] = std::move(holders);
	}

	return detail::format_json(document);
}

} /* namespace pcipass::testing */
