/* SPDX-License-Identifier: MIT */
/* collector/hash.c - sha256 through libcrypto's EVP interface. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <unistd.h>

#include "hash.h"
#include "lazylib.h"

int hash_sha256_fd(int fd, char hex[65])
{
	unsigned char buf[65536], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;
	ssize_t n;
	int ret = lazy_crypto_load();

	if (ret < 0)
		return ret;
	ctx = CR(EVP_MD_CTX_new)();
	if (!ctx || !CR(EVP_DigestInit_ex)(ctx, CR(EVP_sha256)(), NULL)) {
		ret = -ENOMEM;
		goto out;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		CR(EVP_DigestUpdate)(ctx, buf, (size_t)n);
	if (n < 0) {
		ret = -errno;
		goto out;
	}
	CR(EVP_DigestFinal_ex)(ctx, md, &mdlen);
	for (unsigned int i = 0; i < mdlen && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
out:
	CR(EVP_MD_CTX_free)(ctx);
	return ret;
}

int hash_sha256_file(const char *path, char hex[65])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK), ret;

	if (fd < 0)
		return -errno;
	ret = hash_sha256_fd(fd, hex);
	close(fd);
	return ret;
}
