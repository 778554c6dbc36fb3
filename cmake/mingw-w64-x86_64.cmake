# CMake toolchain file: cross-compile for 64-bit Windows with mingw-w64
# (Debian/Ubuntu package gcc-mingw-w64-x86-64) and run the tests under Wine.
#
#   cmake -S . -B build/windows --toolchain cmake/mingw-w64-x86_64.cmake
#   (or: cmake --preset windows)
#
# Tests and examples run through CMAKE_CROSSCOMPILING_EMULATOR; by default the
# Wine loader is looked up (Debian 12 has no /usr/bin/wine64: the 64-bit loader
# is /usr/lib/wine/wine64, the `wine` wrapper picks it for PE32+ programs).
# Pass -DCMAKE_CROSSCOMPILING_EMULATOR=... to choose another one.  Wine is run
# as is: set WINEPREFIX, WINEDEBUG=-all and unset DISPLAY in the environment
# (test/run_windows.sh does), and start wineserver before ctest (see there).
#
# SPDX-License-Identifier: MIT

set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(ct_mingw_prefix x86_64-w64-mingw32)
# Debian ships two variants; either works (we link statically).  Prefer the
# posix-thread one, which has C11 <threads.h> and std::thread for C++ users.
find_program(CMAKE_C_COMPILER NAMES ${ct_mingw_prefix}-gcc-posix ${ct_mingw_prefix}-gcc
             ${ct_mingw_prefix}-gcc-win32 REQUIRED)
find_program(CMAKE_CXX_COMPILER NAMES ${ct_mingw_prefix}-g++-posix ${ct_mingw_prefix}-g++
             ${ct_mingw_prefix}-g++-win32)
find_program(CMAKE_RC_COMPILER NAMES ${ct_mingw_prefix}-windres windres)

set(CMAKE_FIND_ROOT_PATH /usr/${ct_mingw_prefix})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Fully static executables: no libwinpthread-1.dll / libgcc_s_seh-1.dll next to
# them, so Wine (or a bare Windows box) runs them as they are.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static")

# (The project itself leaves out what is POSIX-only when WIN32: the benchmark
# and the examples that include POSIX headers.)

if(NOT CMAKE_CROSSCOMPILING_EMULATOR)
  find_program(CT_WINE NAMES wine64 wine PATHS /usr/lib/wine /usr/lib64/wine
               NO_CMAKE_FIND_ROOT_PATH)
  if(CT_WINE)
    set(CMAKE_CROSSCOMPILING_EMULATOR ${CT_WINE} CACHE FILEPATH
        "Runs the Windows tests on this host")
  endif()
endif()
