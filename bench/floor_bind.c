/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copyright (C) 2026 The pcipass authors
 *
 * The floor for a bind or release: only the sysfs writes that move each
 * device, and a read of its driver link until it shows the new driver,
 * with no scan, plan, lock or journal. It prints the nanoseconds they
 * took, to compare with the time pcipass takes for the same moves.
 *
 * Usage: floor_bind bind DRIVER BDF...
 *        floor_bind release BDF=DRIVER...   (an empty DRIVER leaves it unbound)
 *
 * It writes to the kernel's /sys, so it runs only inside the guest that
 * tests/vm/run boots (its kernel command line carries pcipass.boot=NAME)
 * and exits 77 anywhere else.
 */

#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* How long a driver link may take to show a bind, as pcipass's default deadline. */
#define BIND_DEADLINE_NS 10000000000LL
#define POLL_INTERVAL_NS 1000000L

static long long now_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}

static int inside_test_guest(void)
{
	char cmdline[4096];
	FILE *file = fopen("/proc/cmdline", "r");
	size_t length;

	if (!file)
		return 0;
	length = fread(cmdline, 1, sizeof(cmdline) - 1, file);
	fclose(file);
	cmdline[length] = '\0';
	return strstr(cmdline, "pcipass.boot=") != NULL;
}

static int write_file(const char *path, const char *value)
{
	size_t length = strlen(value);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t written;

	if (fd < 0) {
		fprintf(stderr, "floor_bind: opening '%s' failed: %s\n", path, strerror(errno));
		return -1;
	}
	written = write(fd, value, length);
	if (written < 0 || (size_t)written != length) {
		fprintf(stderr, "floor_bind: writing '%s' to '%s' failed: %s\n", value, path,
			written < 0 ? strerror(errno) : "short write");
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* The device's driver name into name (empty when unbound); -1 on another error. */
static int current_driver(const char *address, char *name, size_t size)
{
	char path[PATH_MAX];
	char target[PATH_MAX];
	const char *slash;
	const char *base;
	ssize_t length;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", address);
	length = readlink(path, target, sizeof(target) - 1);
	if (length < 0) {
		name[0] = '\0';
		return errno == ENOENT ? 0 : -1;
	}
	target[length] = '\0';
	slash = strrchr(target, '/');
	base = slash ? slash + 1 : target;
	if (strlen(base) >= size)
		return -1;
	memcpy(name, base, strlen(base) + 1);
	return 0;
}

static int wait_for_driver(const char *address, const char *driver)
{
	const long long deadline = now_ns() + BIND_DEADLINE_NS;
	const struct timespec interval = { 0, POLL_INTERVAL_NS };
	char name[NAME_MAX + 1];

	for (;;) {
		if (current_driver(address, name, sizeof(name)) == 0 && strcmp(name, driver) == 0)
			return 0;
		if (now_ns() > deadline) {
			fprintf(stderr, "floor_bind: %s is on '%s', not '%s', after the deadline\n",
				address, name, driver);
			return -1;
		}
		nanosleep(&interval, NULL);
	}
}

static int unbind(const char *address)
{
	char path[PATH_MAX];
	char name[NAME_MAX + 1];

	if (current_driver(address, name, sizeof(name)) != 0 || name[0] == '\0')
		return 0;
	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/unbind", name);
	return write_file(path, address);
}

static int bind_to(const char *address, const char *driver)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/bind", driver);
	if (write_file(path, address) != 0)
		return -1;
	return wait_for_driver(address, driver);
}

static int move_to(const char *address, const char *driver)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", address);
	if (write_file(path, driver) != 0)
		return -1;
	if (unbind(address) != 0)
		return -1;
	return bind_to(address, driver);
}

/*
 * BDF=DRIVER, with the writes pcipass makes to return a device: an
 * override naming DRIVER (so nothing else probes onto it), leave the
 * current driver, bind DRIVER, clear the override. Without a DRIVER: clear
 * the override and leave the current driver.
 */
static int restore(const char *argument)
{
	char address[64];
	char path[PATH_MAX];
	const char *equals = strchr(argument, '=');
	const char *driver = equals ? equals + 1 : "";
	size_t length = equals ? (size_t)(equals - argument) : strlen(argument);

	if (length >= sizeof(address)) {
		fprintf(stderr, "floor_bind: '%s' is not BDF=DRIVER\n", argument);
		return -1;
	}
	memcpy(address, argument, length);
	address[length] = '\0';

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", address);
	if (write_file(path, driver[0] == '\0' ? "\n" : driver) != 0)
		return -1;
	if (unbind(address) != 0)
		return -1;
	if (driver[0] == '\0')
		return 0;
	if (bind_to(address, driver) != 0)
		return -1;
	return write_file(path, "\n");
}

int main(int argc, char **argv)
{
	long long start;
	int i;

	if (argc < 3 || (strcmp(argv[1], "bind") != 0 && strcmp(argv[1], "release") != 0) ||
	    (strcmp(argv[1], "bind") == 0 && argc < 4)) {
		fprintf(stderr, "usage: floor_bind bind DRIVER BDF...\n"
				"       floor_bind release BDF=DRIVER...\n");
		return 2;
	}
	if (!inside_test_guest()) {
		fprintf(stderr, "floor_bind: writes to /sys, so it runs only inside the guest that "
				"tests/vm/run boots\n");
		return 77;
	}

	start = now_ns();
	if (strcmp(argv[1], "bind") == 0) {
		for (i = 3; i < argc; i++)
			if (move_to(argv[i], argv[2]) != 0)
				return 1;
	} else {
		for (i = 2; i < argc; i++)
			if (restore(argv[i]) != 0)
				return 1;
	}
	printf("%lld\n", now_ns() - start);
	return 0;
}
