# SPDX-License-Identifier: MIT
# System packages only (DESIGN.md §2); scripts/install-deps.sh installs them.
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBUV REQUIRED IMPORTED_TARGET libuv>=1.40)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
find_package(OpenSSL 3 REQUIRED)
find_package(PostgreSQL REQUIRED)

# libuv types appear in the public API, so it is a public dependency; the rest stay private.
add_library(tether_deps_public INTERFACE)
target_link_libraries(tether_deps_public INTERFACE PkgConfig::LIBUV)
add_library(tether_deps_private INTERFACE)
target_link_libraries(tether_deps_private INTERFACE OpenSSL::SSL OpenSSL::Crypto
  PkgConfig::JANSSON PostgreSQL::PostgreSQL m)
install(TARGETS tether_deps_public tether_deps_private tether_warnings EXPORT tetherTargets)
