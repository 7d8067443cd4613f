# SPDX-License-Identifier: MIT
# System packages only (DESIGN.md §2); scripts/install-deps.sh installs them. A dependency is
# added here with the component that uses it (libpq comes with pgpool).
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBUV REQUIRED IMPORTED_TARGET libuv>=1.40)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
# zlib: the client decodes gzip and deflate bodies (fetch option decompress).
pkg_check_modules(ZLIB REQUIRED IMPORTED_TARGET zlib)
find_package(OpenSSL 3 REQUIRED)
# libpq: only the PostgreSQL pool (libtether-pgpool) needs it, so it is optional and the core
# library, the demo and `scripts/install-deps.sh build` never do.
pkg_check_modules(LIBPQ IMPORTED_TARGET libpq)
