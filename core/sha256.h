/* sha256.h — SHA-256 digests of buffers and files as lowercase hex
 * (OpenSSL libcrypto underneath). */
#ifndef MLCTL_SHA256_H
#define MLCTL_SHA256_H

#include <stddef.h>

/* hex must hold 65 bytes. */
void sha256_hex(const void *data, size_t len, char hex[65]);
/* 0, or -1 with errno when the file cannot be read. */
int sha256_file_hex(const char *path, char hex[65]);

#endif
