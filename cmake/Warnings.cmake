# SPDX-License-Identifier: MIT
# Zero-warning policy (STYLE §8): the flags every tether source compiles with.
add_library(tether_warnings INTERFACE)
target_compile_options(tether_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wformat=2 -Wmissing-prototypes -Wstrict-prototypes
  -Wcast-qual -Wvla -Wimplicit-fallthrough -Wconversion -Wno-sign-conversion)
if(TETHER_WERROR)
  target_compile_options(tether_warnings INTERFACE -Werror)
endif()
