/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The scheduler's object from a virtio-serial port: the VM runner boots the
 * guest while clang compiles, then sends the object over the port named
 * "tld-object" as a decimal length line followed by that many bytes.
 */
#ifndef TLD_SCX_PORT_H
#define TLD_SCX_PORT_H

#include <stddef.h>

/*
 * Reads the object from the virtio-serial port named @name (found in
 * /sys/class/virtio-ports) into the file @dest. Returns 0, or -1 with a
 * sentence in @err saying what went wrong.
 */
int scx_receive_object(const char *name, const char *dest, char *err, size_t errlen);

#endif
