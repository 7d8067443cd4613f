# SPDX-License-Identifier: MIT
# llhttp, Node's HTTP parser, as a peer for tests and benchmarks only (never linked into the
# library): Debian's node-llhttp ships its generated C sources, so the peer is compiled here from
# them with the build type's flags, as our own parser is. Defines the static library
# tether_llhttp_peer when the sources are installed.
if(TARGET tether_llhttp_peer)
  return()
endif()
find_path(LLHTTP_INCLUDE_DIR llhttp.h PATHS /usr/share/include/llhttp /usr/include
          PATH_SUFFIXES llhttp)
find_path(LLHTTP_SOURCE_DIR llhttp.c PATHS /usr/share/llhttp NO_DEFAULT_PATH)
if(LLHTTP_INCLUDE_DIR AND LLHTTP_SOURCE_DIR)
  add_library(tether_llhttp_peer STATIC ${LLHTTP_SOURCE_DIR}/llhttp.c ${LLHTTP_SOURCE_DIR}/api.c
                                        ${LLHTTP_SOURCE_DIR}/http.c)
  target_include_directories(tether_llhttp_peer SYSTEM PUBLIC ${LLHTTP_INCLUDE_DIR})
  # Generated code: its warnings are not ours to fix.
  target_compile_options(tether_llhttp_peer PRIVATE -w)
  set_target_properties(tether_llhttp_peer PROPERTIES POSITION_INDEPENDENT_CODE ON)
endif()
