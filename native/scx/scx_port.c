/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include "scx_port.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PORTS "/sys/class/virtio-ports"
/* An object's length as a decimal line: a scheduler is far below 1 GiB. */
#define MAX_OBJECT (1u << 30)

/* /dev/NAME of the port whose name is @name, in @dev; 0, or -1 when there is none. */
static int find_port(const char *name, char *dev, size_t len)
{
	DIR *d = opendir(PORTS);
	struct dirent *e;
	int rc = -1;

	if (!d)
		return -1;
	while (rc && (e = readdir(d))) {
		char path[512], got[256];
		ssize_t n;
		int fd;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), PORTS "/%s/name", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, got, sizeof(got) - 1);
		close(fd);
		if (n <= 0)
			continue;
		got[n] = '\0';
		got[strcspn(got, "\n")] = '\0';
		if (!strcmp(got, name)) {
			snprintf(dev, len, "/dev/%s", e->d_name);
			rc = 0;
		}
	}
	closedir(d);
	return rc;
}

int scx_receive_object(const char *name, const char *dest, char *err, size_t errlen)
{
	char dev[300], line[24], buf[65536];
	unsigned long long size;
	size_t at = 0, done = 0;
	int in = -1, out = -1, rc = -1;
	char *end;

	if (find_port(name, dev, sizeof(dev))) {
		snprintf(err, errlen, "no virtio-serial port %s for the scheduler's object", name);
		return -1;
	}
	in = open(dev, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		snprintf(err, errlen, "cannot open %s (port %s): %s", dev, name, strerror(errno));
		return -1;
	}
	/* The length line, a byte at a time so that no byte of the object is read with it. */
	while (at < sizeof(line) - 1) {
		ssize_t n = read(in, line + at, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || line[at] == '\n')
			break;
		at++;
	}
	line[at] = '\0';
	errno = 0;
	size = strtoull(line, &end, 10);
	if (at == 0 || *end || errno || size == 0 || size > MAX_OBJECT) {
		snprintf(err, errlen, "the scheduler's object did not arrive (got '%s')", line);
		goto out;
	}
	out = open(dest, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		snprintf(err, errlen, "cannot write %s: %s", dest, strerror(errno));
		goto out;
	}
	while (done < size) {
		size_t want = size - done < sizeof(buf) ? size - done : sizeof(buf);
		ssize_t n = read(in, buf, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "the scheduler's object came short: %zu of %llu bytes", done, size);
			goto out;
		}
		if (write(out, buf, n) != n) {
			snprintf(err, errlen, "cannot write %s: %s", dest, strerror(errno));
			goto out;
		}
		done += n;
	}
	rc = 0;
out:
	if (out >= 0 && close(out) && !rc) {
		snprintf(err, errlen, "cannot write %s: %s", dest, strerror(errno));
		rc = -1;
	}
	close(in);
	return rc;
}
