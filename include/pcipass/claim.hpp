/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The Kubernetes and libvirt objects around a device: Harvester PCIDevice and
 * PCIDeviceClaim, KubeVirt host device entries, and a libvirt <hostdev>.
 */

#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <pcipass/address.hpp>
#include <pcipass/error.hpp>
#include <pcipass/graph.hpp>

namespace pcipass {

/*
 * Every function here is pure: it reads only its arguments, never the host,
 * and is reentrant. The objects follow Harvester's pcidevices controller
 * (devices.harvesterhci.io/v1beta1) and KubeVirt's kubevirt.io/v1 API.
 *
 * Functions that need the other devices of the host take a DeviceList,
 * which a DeviceGraph or any list of devices from one host converts to.
 */

/*
 * A non-owning list of the devices of one host: a graph snapshot, or
 * devices built or parsed elsewhere. IOMMU group membership is read from
 * Device::iommu_group. The source must outlive the list.
 */
class DeviceList
{
public:
	/* Implicit, so that callers pass a graph or a device list where a DeviceList is expected. */
	DeviceList(const DeviceGraph &graph);
	DeviceList(std::span<const Device> devices);
	DeviceList(const std::vector<Device> &devices) : DeviceList(std::span<const Device>(devices)) {}

	const std::vector<const Device *> &devices() const { return devices_; }

	/* Returns nullptr when no device has the address. */
	const Device *find(PciAddress address) const;

private:
	std::vector<const Device *> devices_;
};

/* The apiVersion of Harvester's PCIDevice and PCIDeviceClaim. */
inline constexpr std::string_view harvester_devices_api_version = "devices.harvesterhci.io/v1beta1";

/* The PCIDevice label that contains the node name. */
inline constexpr std::string_view pcidevice_node_label = "nodename";

/* The PCIDevice annotation that records the driver the device had at creation. */
inline constexpr std::string_view pcidevice_driver_annotation = "harvesterhci.io/pcideviceDriver";

/* The kubelet's device-plugin socket directory. KubeVirt names its sockets kubevirt-<resource>.sock. */
inline constexpr std::string_view device_plugin_directory = "/var/lib/kubelet/device-plugins/";

/* The maximum length of a device-plugin socket path, the size of sun_path on Linux. */
inline constexpr size_t max_device_plugin_socket_path = 108;

/*
 * Checks a Kubernetes object name: a DNS-1123 subdomain of at most 253
 * characters, lower-case letters, digits, '-' and '.', starting and ending
 * with a letter or digit. `what` names the value in the message.
 *
 * Errors: invalid_argument, naming the value and the rule it breaks.
 */
result<void> check_object_name(std::string_view name, std::string_view what);

/*
 * Checks a Kubernetes label value: empty, or at most 63 characters of
 * letters, digits, '-', '_' and '.', starting and ending with a letter or
 * digit.
 *
 * Errors: invalid_argument, naming the value and the rule it breaks.
 */
result<void> check_label_value(std::string_view value, std::string_view what);

/*
 * Builds the PCIDevice name: the node, '-', and the address with every ':'
 * and '.' removed (node "harvester", 0000:01:00.0 gives "harvester-000001000").
 *
 * Errors: invalid_argument when the node is not a valid node name or the
 * result would be longer than 253 characters.
 */
result<std::string> pcidevice_name(std::string_view node, PciAddress address);

/*
 * Builds the extended resource name that Harvester's device plugin
 * registers for a device, "<vendor>.com/<PRODUCT>", from the hardware
 * database names:
 *
 * - vendor: the text inside the first brackets of the vendor name up to the
 *   first '/', otherwise its first word. Everything but letters and digits
 *   is removed, the rest lower-cased and ".com" appended. Without a vendor
 *   name the vendor is "unknown.com", because Harvester's PCI database
 *   reports unknown vendors as "unknown";
 * - product: the device name upper-cased, with '/' and '.' turned into '_'
 *   and runs of white space into one '_'. Any other character outside
 *   letters, digits and '_' is dropped, and trailing '_', '.' and '-' are
 *   trimmed. When nothing is left, the device ID (four lower-case hex
 *   digits) is the product;
 * - when device_plugin_directory + "kubevirt-<vendor>-<product>.sock" would
 *   exceed 108 bytes, VIRTUAL_FUNCTION is shortened to VF, and when that is
 *   not enough the product becomes the device ID.
 */
std::string resource_name(const Device &device);

/*
 * Builds the description Harvester shows for a device, "<class>: <vendor>
 * <device>", with "Vendor vvvv" and "Device dddd" for names the hardware
 * database lacks.
 */
std::string pcidevice_description(const Device &device);

/* The status of a Harvester PCIDevice. */
struct PciDeviceStatus {
	std::string address;              /* "0000:01:00.0" */
	std::string vendor_id;            /* four lower-case hex digits, "10de" */
	std::string device_id;            /* four lower-case hex digits */
	std::string class_id;             /* class and subclass, "0300" */
	std::string iommu_group;          /* decimal, empty without a group */
	std::string node_name;
	std::string resource_name;
	std::string description;
	std::string kernel_driver_in_use; /* empty when no driver is bound */

	bool operator==(const PciDeviceStatus &) const = default;
};

/* A Harvester PCIDevice (cluster scoped): one PCI function on one node. */
struct PciDeviceObject {
	std::string name;
	/* metadata.uid: assigned by the API server, so empty in objects pcipass builds. */
	std::string uid;
	/* The pcideviceDriver annotation; empty (and the annotation absent) for an unbound device. */
	std::string driver_at_creation;
	PciDeviceStatus status;

	bool operator==(const PciDeviceObject &) const = default;
};

/*
 * Builds the PCIDevice for one function on a node. The nodename label and
 * the name both come from the node.
 *
 * Errors: invalid_argument when the node is not a valid node name, when it
 * is longer than the 63 characters a label value allows, or when the
 * object name would be longer than 253 characters.
 */
result<PciDeviceObject> make_pcidevice(const Device &device, std::string_view node);

/* Converts the PCIDevice to a Kubernetes object, with metadata.uid only when set. */
boost::json::object to_json(const PciDeviceObject &pcidevice);

/*
 * Reads a PCIDevice as the API server returns it. Fields pcipass does not
 * use are ignored; missing status fields stay empty.
 *
 * Errors: invalid_argument when the value is not a PCIDevice object, when
 * metadata.name is missing, or when a field has the wrong JSON type.
 */
result<PciDeviceObject> parse_pcidevice(const boost::json::value &value);

/* An entry of metadata.ownerReferences. */
struct OwnerReference {
	std::string api_version{harvester_devices_api_version};
	std::string kind = "PCIDevice";
	std::string name;
	std::string uid;
	std::optional<bool> controller;
	std::optional<bool> block_owner_deletion;

	bool operator==(const OwnerReference &) const = default;
};

boost::json::object to_json(const OwnerReference &reference);

/* A Harvester PCIDeviceClaim: the request to pass one PCIDevice through. */
struct PciDeviceClaim {
	std::string name; /* equal to the PCIDevice name */
	std::vector<OwnerReference> owner_references;
	std::string address;   /* spec.address */
	std::string node_name; /* spec.nodeName */
	std::string user_name; /* spec.userName */

	bool operator==(const PciDeviceClaim &) const = default;
};

struct ClaimOptions {
	std::string user_name;
	/* Set ownerReferences[0].controller to true. */
	bool controller = false;
	/* Set ownerReferences[0].blockOwnerDeletion to true. */
	bool block_owner_deletion = false;
};

/*
 * Builds the claim for a PCIDevice, with exactly one owner reference, to
 * that PCIDevice. Harvester's controller processes no claim without it, and the
 * claim then stays "in progress" forever, so there is no claim without one.
 *
 * Errors: missing_owner_reference when the PCIDevice has no name or no uid.
 * The API server assigns metadata.uid, so read the PCIDevice back from it.
 * invalid_argument when its name, uid, address or node is malformed.
 */
result<PciDeviceClaim> make_claim(const PciDeviceObject &pcidevice,
				  const ClaimOptions &options = {});

/*
 * Builds the claim for one function on a node, given the uid of its PCIDevice.
 *
 * Errors: as make_pcidevice() and make_claim(PciDeviceObject).
 */
result<PciDeviceClaim> make_claim(const Device &device, std::string_view node,
				  std::string_view pcidevice_uid, const ClaimOptions &options = {});

/*
 * Lists the endpoints a VM needs with the device at address: every function
 * of its IOMMU group except bridges, in address order, or the device alone
 * without a group.
 *
 * Errors: not_found when no device has the address; bridge_requested when
 * it is a bridge.
 */
result<std::vector<const Device *>> group_endpoints(const DeviceList &devices,
						    PciAddress address);

/*
 * Builds claims for every endpoint of the device's group (group_endpoints()),
 * each owned by its own PCIDevice. uids maps each endpoint's address to the
 * metadata.uid of its PCIDevice.
 *
 * Errors: as group_endpoints() and make_claim(); missing_owner_reference
 * lists every endpoint whose uid is missing.
 */
result<std::vector<PciDeviceClaim>> make_group_claims(const DeviceList &devices,
						      PciAddress address, std::string_view node,
						      const std::map<PciAddress, std::string> &uids,
						      const ClaimOptions &options = {});

/* Converts the claim to a Kubernetes object. */
boost::json::object to_json(const PciDeviceClaim &claim);

/*
 * Reads a PCIDeviceClaim.
 *
 * Errors: invalid_argument when the value is not a PCIDeviceClaim or a
 * field has the wrong JSON type, naming the field.
 */
result<PciDeviceClaim> parse_claim(const boost::json::value &value);

/* Parses JSON text first. Errors: also invalid_argument for malformed JSON. */
result<PciDeviceClaim> parse_claim(std::string_view json_text);

/* A KubeVirt VirtualMachine spec.template.spec.domain.devices.hostDevices entry. */
struct KubevirtHostDevice {
	std::string name;        /* the PCIDevice name */
	std::string device_name; /* the resource name */

	bool operator==(const KubevirtHostDevice &) const = default;
};

/* A KubeVirt spec.configuration.permittedHostDevices.pciHostDevices entry. */
struct PermittedPciHostDevice {
	std::string pci_vendor_selector; /* "10de:1f02" */
	std::string resource_name;
	/* Harvester's device plugin, not KubeVirt's, serves the resource. */
	bool external_resource_provider = true;

	bool operator==(const PermittedPciHostDevice &) const = default;
};

KubevirtHostDevice kubevirt_host_device(const PciDeviceObject &pcidevice);

/*
 * Builds the permittedHostDevices entries for a set of PCIDevices, one per
 * distinct vendor:device and resource name, in first-seen order.
 */
std::vector<PermittedPciHostDevice> permitted_pci_host_devices(
	std::span<const PciDeviceObject> pcidevices);

boost::json::object to_json(const KubevirtHostDevice &entry);
boost::json::object to_json(const PermittedPciHostDevice &entry);

/*
 * Builds a libvirt <hostdev mode='subsystem' type='pci' managed='no'>
 * element for the function, for `virsh attach-device` without Kubernetes.
 * The device is unmanaged because pcipass, not libvirt, moves it to vfio-pci.
 */
std::string libvirt_hostdev_xml(PciAddress address);

/* A request to build_objects(): the device, its node and uids, and the parts to include. */
struct ObjectsRequest {
	PciAddress address;
	std::string node;
	/* The metadata.uid of each PCIDevice, by address; claims need one per device. */
	std::map<PciAddress, std::string> uids;
	ClaimOptions claim;
	/* Cover every endpoint of the device's IOMMU group, not only the device. */
	bool siblings = false;
	/* Include the PCIDevice objects. */
	bool pcidevices = false;
	/* Include the KubeVirt hostDevices and permittedHostDevices entries. */
	bool kubevirt = false;
	/* Include a libvirt <hostdev> per device. */
	bool libvirt = false;
};

/* The objects for one request; the optional parts are empty unless requested. */
struct Objects {
	std::vector<PciDeviceClaim> claims;
	std::vector<PciDeviceObject> pcidevices;
	std::vector<KubevirtHostDevice> host_devices;
	std::vector<PermittedPciHostDevice> permitted_host_devices;
	std::vector<std::string> libvirt_hostdevs;
};

/*
 * Builds the claims for the device, or for every endpoint of its group with
 * siblings, and the other objects the request includes.
 *
 * Errors: as group_endpoints(), make_pcidevice() and make_claim();
 * missing_owner_reference when a device's uid is missing.
 */
result<Objects> build_objects(const DeviceList &devices, const ObjectsRequest &request);

/*
 * Converts the objects to {"schema": "pcipass.objects/v1", "claims": [...]},
 * with "pcidevices", "hostDevices", "pciHostDevices" and "libvirt" (XML
 * strings) when the request included them.
 */
boost::json::object to_json(const Objects &objects, const ObjectsRequest &request);

/* One reason a claim would not be processed on this node. */
struct ClaimProblem {
	errc code = errc::invalid_argument;
	/*
	 * Machine-readable: invalid_claim, missing_owner_reference,
	 * owner_reference_not_first, owner_reference_invalid, name_mismatch,
	 * wrong_node, device_not_found, identity_mismatch, bridge_requested,
	 * device_inaccessible, iommu_off, no_iommu_group, usb_device_in_use.
	 */
	std::string reason;
	std::string message; /* what is wrong and what to change */
	std::string device;  /* the address concerned, empty when none */
	/* For owner reference problems: the exact entry to put first in metadata.ownerReferences. */
	boost::json::value fix;

	bool operator==(const ClaimProblem &) const = default;
};

struct ClaimCheck {
	std::vector<ClaimProblem> problems;

	bool valid() const { return problems.empty(); }

	/* Success, or the first problem as an Error. */
	result<void> as_result() const;
};

struct ClaimCheckOptions {
	/*
	 * The PCIDevice that should own the claim, as read from the API server.
	 * When set, the owner reference must carry its uid, and the device on
	 * this node must have its vendor and device IDs.
	 */
	std::optional<PciDeviceObject> owner;
};

/*
 * Checks offline what Harvester's controller needs before it acts on a
 * claim on this node. The claim needs an owner reference to the PCIDevice,
 * first in the list and with its name and uid, and spec.nodeName equal to
 * node. The device must be present with the expected identity, in a
 * non-empty IOMMU group, with no USB device (hubs aside) behind any
 * endpoint of the group. A claim for another node is reported as wrong_node
 * alone, because the device at that address here is not the one claimed.
 *
 * Problems carry their errc: invalid_argument, missing_owner_reference,
 * wrong_node, not_found, identity_mismatch, bridge_requested,
 * device_inaccessible, iommu_off, no_iommu_group, device_in_use.
 */
ClaimCheck validate_claim(const boost::json::value &claim, const DeviceList &devices,
			  std::string_view node, const ClaimCheckOptions &options = {});

/* Converts the check to {"schema": "pcipass.claim-check/v1", "valid", "problems": [{reason, code, message, device, fix}]}. */
boost::json::object to_json(const ClaimCheck &check);

} /* namespace pcipass */
