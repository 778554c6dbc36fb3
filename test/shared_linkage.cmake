# ctest case shared_linkage (shared builds on Linux): every black-box test
# program loads the libcthreading.so of this build tree (through the RPATH
# CMake gives it, not LD_LIBRARY_PATH), and every white-box program carries
# the static copy instead and loads no libcthreading at all (two copies of
# the library's state in one process would be a bug of the build).
#   cmake -DLDD=ldd -DLIB=<path of libcthreading.so.N> -DBLACK=<a|b> -DWHITE=<c|d> -P this
#
# SPDX-License-Identifier: MIT
cmake_minimum_required(VERSION 3.20)
set(bad 0)
string(REPLACE "|" ";" BLACK "${BLACK}")
string(REPLACE "|" ";" WHITE "${WHITE}")
get_filename_component(lib_real ${LIB} REALPATH)
get_filename_component(lib_name ${LIB} NAME)
set(ENV{LD_LIBRARY_PATH} "")
foreach(exe ${BLACK} ${WHITE})
  execute_process(COMMAND ${LDD} ${exe} OUTPUT_VARIABLE out ERROR_VARIABLE err
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message("FAIL: ${LDD} ${exe} exited ${rc}: ${err}")
    set(bad 1)
    continue()
  endif()
  set(found "")
  if(out MATCHES "libcthreading[^ \t\n]* => ([^ \t\n]+)")
    set(found ${CMAKE_MATCH_1})
  endif()
  if(exe IN_LIST BLACK)
    if(found STREQUAL "")
      message("FAIL: ${exe} does not load ${lib_name}")
      set(bad 1)
    else()
      get_filename_component(found_real ${found} REALPATH)
      if(NOT found_real STREQUAL lib_real)
        message("FAIL: ${exe} loads ${found}, not this build's ${LIB}")
        set(bad 1)
      endif()
    endif()
  elseif(NOT found STREQUAL "" OR out MATCHES "libcthreading")
    message("FAIL: white-box ${exe} loads a libcthreading (${found}) besides its static copy")
    set(bad 1)
  endif()
endforeach()
if(bad)
  message(FATAL_ERROR "shared_linkage: FAILED")
endif()
list(LENGTH BLACK nb)
list(LENGTH WHITE nw)
message("shared_linkage: ${nb} programs load ${lib_name}, ${nw} white-box programs link the static copy")
