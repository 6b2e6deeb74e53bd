/* SPDX-License-Identifier: MIT */
/* collector/lazylib.h - libarchive and libcrypto, loaded with dlopen() the first time they
 * are needed instead of at every start.
 *
 * Why: linked, libarchive brings eleven more libraries (ICU, libxml2, libstdc++, nettle, the
 * compressors...) and libcrypto is large: relocating them was more than half of what
 * starting magicpak cost (3 ms of `magicpak --version` against 0.9 ms for /bin/true), paid
 * by every `record`, while only image export (--oci-archive) and hashing (--hash, --strict
 * checks, image digests) use them.
 *
 * Call a library's functions through AR(name) / CR(name), after lazy_archive_load() /
 * lazy_crypto_load() returned 0. */
#ifndef COLLECTOR_LAZYLIB_H
#define COLLECTOR_LAZYLIB_H

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#define LAZY_ARCHIVE_FUNCS(X)                                                              \
	X(archive_entry_free) X(archive_entry_new) X(archive_entry_set_filetype)           \
	X(archive_entry_set_gid) X(archive_entry_set_hardlink) X(archive_entry_set_mtime)  \
	X(archive_entry_set_pathname) X(archive_entry_set_perm) X(archive_entry_set_rdev)  \
	X(archive_entry_set_size) X(archive_entry_set_symlink) X(archive_entry_set_uid)    \
	X(archive_entry_sparse_add_entry) X(archive_error_string) X(archive_set_error)     \
	X(archive_write_close) X(archive_write_data) X(archive_write_free)                 \
	X(archive_write_header) X(archive_write_new) X(archive_write_open2)                \
	X(archive_write_open_fd) X(archive_write_set_bytes_per_block)                      \
	X(archive_write_set_format_pax_restricted)

#define LAZY_CRYPTO_FUNCS(X)                                                               \
	X(EVP_DigestFinal_ex) X(EVP_DigestInit_ex) X(EVP_DigestUpdate) X(EVP_MD_CTX_free)  \
	X(EVP_MD_CTX_new) X(EVP_sha256)

#define LAZY_MEMBER(f) __typeof__(f) *f;
struct lazy_archive {
	LAZY_ARCHIVE_FUNCS(LAZY_MEMBER)
};
struct lazy_crypto {
	LAZY_CRYPTO_FUNCS(LAZY_MEMBER)
};
#undef LAZY_MEMBER

extern struct lazy_archive lazy_archive;
extern struct lazy_crypto lazy_crypto;

/* Load the library and every function listed: 0, or a logged -ENOENT naming what is
 * missing (the same answer on every later call). */
int lazy_archive_load(void);
int lazy_crypto_load(void);

#define AR(f) (lazy_archive.f)
#define CR(f) (lazy_crypto.f)

#endif /* COLLECTOR_LAZYLIB_H */
