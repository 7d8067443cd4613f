# SPDX-License-Identifier: MIT
# Runs the built command and writes its standard output to a file, failing the build when the
# command fails (a script, so no shell redirection is needed in add_custom_command):
#   cmake -DEXE=tether -DARGS="help;--man" -DOUT=tether.1 -P CliOutput.cmake
execute_process(COMMAND ${EXE} ${ARGS} OUTPUT_FILE ${OUT}.tmp RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(REMOVE ${OUT}.tmp)
  message(FATAL_ERROR "${EXE} ${ARGS} failed: ${rc}")
endif()
file(RENAME ${OUT}.tmp ${OUT})
