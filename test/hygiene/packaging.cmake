# Shared set-up of the packaging tests (test/hygiene and test/consumer include
# this).  They configure, build and install cthreading again in nested build
# trees under <build>/packaging/, so they need a native Unix toolchain.  They
# are not registered in sanitizer builds (the nested builds do not use the
# parent's sanitizer, so running them there again only costs time), when
# cross-compiling, or with -DCT_TEST_PACKAGING=OFF.
#
# Sets: ct_pkg_enabled, ct_pkg_work, ct_pkg_prefix, ct_pkg_prefix_static,
# ct_pkg_env (ENVIRONMENT for the driver scripts), CT_PKG_{GCC,CLANG,GXX,CLANGXX}.
#
# SPDX-License-Identifier: MIT
option(CT_TEST_PACKAGING "Register the packaging tests (install, consumers, symbols, headers)" ON)

set(ct_pkg_enabled OFF)
if(CT_TEST_PACKAGING AND UNIX AND NOT CMAKE_CROSSCOMPILING AND CT_SANITIZE STREQUAL "none")
  set(ct_pkg_enabled ON)
endif()

find_program(CT_PKG_GCC NAMES gcc)
find_program(CT_PKG_CLANG NAMES clang)
find_program(CT_PKG_GXX NAMES g++)
find_program(CT_PKG_CLANGXX NAMES clang++)
mark_as_advanced(CT_PKG_GCC CT_PKG_CLANG CT_PKG_GXX CT_PKG_CLANGXX)

set(ct_pkg_work ${PROJECT_BINARY_DIR}/packaging)
set(ct_pkg_prefix ${ct_pkg_work}/prefix)               # shared and static library
set(ct_pkg_prefix_static ${ct_pkg_work}/prefix-static) # static library only
set(ct_pkg_env
  "CT_SRC=${PROJECT_SOURCE_DIR}"
  "CT_WORK=${ct_pkg_work}"
  "CT_PREFIX=${ct_pkg_prefix}"
  "CT_PREFIX_STATIC=${ct_pkg_prefix_static}"
  "CT_CC=${CMAKE_C_COMPILER}"
  "CT_GENERATOR=${CMAKE_GENERATOR}"
  "CT_MAKE_PROGRAM=${CMAKE_MAKE_PROGRAM}"
  "CT_BACKEND=${ct_backend}")
