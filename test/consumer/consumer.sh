#!/usr/bin/env bash
# Builds the consumer project of app/ one way and runs it (one ctest case per
# way; see CMakeLists.txt here).  Usage: consumer.sh WAY [CXX], WAY one of
#   find_package-shared  find_package-static  pkg-config-shared
#   pkg-config-static    add_subdirectory     fetchcontent
#   cxx17                (app-cxx/ with the C++ compiler CXX, installed tree)
# Every way checks the version: the package (find_package, pkg-config) and
# the headers (CT_VERSION_STRING, and ct_version() at run time) must say the
# version of the source tree's project(); find_package-shared also checks that
# asking for the next major version fails.
# Environment (set by CMakeLists.txt): CT_SRC (the cthreading source tree),
# CT_WORK (scratch root), CT_PREFIX / CT_PREFIX_STATIC (install trees made by
# the hygiene_werror_* fixtures), CT_CC, CT_GENERATOR, CT_MAKE_PROGRAM,
# CT_BACKEND.  No network: FetchContent gets a local archive.
#
# SPDX-License-Identifier: MIT
set -euo pipefail
way=${1:?usage: consumer.sh WAY}
app=$(cd "$(dirname "$0")/app" && pwd)
work="$CT_WORK/consumer-$way"
rm -rf "$work"
mkdir -p "$work"
cd "$work"

version=$(sed -n 's/^project(cthreading VERSION \([0-9.]*\).*/\1/p' "$CT_SRC/CMakeLists.txt")
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "FAIL: no x.y.z version in $CT_SRC/CMakeLists.txt"; exit 1; }
major=${version%%.*}
cmake_args=(-G "$CT_GENERATOR" -DCMAKE_C_COMPILER="$CT_CC" -DCT_EXPECT_VERSION="$version")
[ -n "${CT_MAKE_PROGRAM:-}" ] && cmake_args+=(-DCMAKE_MAKE_PROGRAM="$CT_MAKE_PROGRAM")

# Prints the DT_NEEDED entries of an executable.
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }

# $1: executable; $2: "shared" or "static" — checks how it was linked, runs it.
check_and_run() {
  local exe=$1 type=$2
  if needed "$exe" | grep -q '^libcthreading\.so'; then
    [ "$type" = shared ] || { echo "FAIL: $exe links libcthreading.so, expected static"; exit 1; }
  else
    [ "$type" = static ] || { echo "FAIL: $exe does not link libcthreading.so"; exit 1; }
  fi
  "$exe"
}

build_cmake() { # extra cmake args...
  cmake -S "$app" -B build "${cmake_args[@]}" "$@" >configure.log 2>&1 \
    || { cat configure.log; echo "FAIL: configure"; exit 1; }
  cmake --build build >build.log 2>&1 || { cat build.log; echo "FAIL: build"; exit 1; }
  grep -E 'consumer:' configure.log || true
}

case $way in
  find_package-shared|find_package-static)
    type=${way#find_package-}
    shared=OFF; [ "$type" = shared ] && shared=ON
    build_cmake -DCT_CONSUME=find_package -DCMAKE_PREFIX_PATH="$CT_PREFIX" \
                -Dcthreading_SHARED_LIBS=$shared
    grep -q "(${type^^})" configure.log || { echo "FAIL: did not get the $type library"; exit 1; }
    check_and_run build/consumer "$type"
    if [ "$type" = shared ]; then
      # A version the package does not satisfy must be refused.
      if cmake -S "$app" -B build-next "${cmake_args[@]}" -DCT_CONSUME=find_package \
           -DCMAKE_PREFIX_PATH="$CT_PREFIX" -DCT_FIND_VERSION=$((major + 1)).0 >next.log 2>&1; then
        cat next.log; echo "FAIL: find_package(cthreading $((major + 1)).0) accepted $version"; exit 1
      fi
      grep -q "version: $version" next.log \
        || { cat next.log; echo "FAIL: find_package refused $((major + 1)).0 for another reason"; exit 1; }
      echo "find_package(cthreading $((major + 1)).0) refused, as it must be"
    fi
    ;;
  pkg-config-shared|pkg-config-static)
    type=${way#pkg-config-}
    if [ "$type" = shared ]; then
      export PKG_CONFIG_PATH="$CT_PREFIX/lib/pkgconfig"
      flags=$(pkg-config --cflags --libs cthreading)
      libdir=$(pkg-config --variable=libdir cthreading)
      flags="$flags -Wl,-rpath,$libdir"
    else
      # A prefix holding only the static library, as a distribution's -dev
      # package for static linking would.
      export PKG_CONFIG_PATH="$CT_PREFIX_STATIC/lib/pkgconfig"
      flags=$(pkg-config --static --cflags --libs cthreading)
    fi
    modversion=$(pkg-config --modversion cthreading)
    [ "$modversion" = "$version" ] || { echo "FAIL: pkg-config says $modversion, expected $version"; exit 1; }
    pkg-config --exists "cthreading >= $version" || { echo "FAIL: pkg-config 'cthreading >= $version'"; exit 1; }
    echo "pkg-config: $modversion $flags"
    # shellcheck disable=SC2086  # word splitting of the flags is intended
    "$CT_CC" -std=c11 -Wall -Wextra -Wpedantic -Werror "$app/main.c" -o consumer \
      -DCT_EXPECT_VERSION="\"$version\"" $flags
    check_and_run ./consumer "$type"
    ;;
  add_subdirectory)
    build_cmake -DCT_CONSUME=add_subdirectory -DCTHREADING_SOURCE_DIR="$CT_SRC" \
                -DCT_WAIT_BACKEND="$CT_BACKEND"
    check_and_run build/consumer static
    ;;
  fetchcontent)
    # A source archive like a release tarball: only what a subproject build
    # needs, under one top directory.
    top="cthreading-$version"
    mkdir -p "stage/$top"
    for f in CMakeLists.txt LICENSE cmake include src; do
      [ -e "$CT_SRC/$f" ] && cp -R "$CT_SRC/$f" "stage/$top/"
    done
    (cd stage && cmake -E tar czf "$work/$top.tar.gz" "$top")
    sha=$(cmake -E sha256sum "$top.tar.gz" | cut -d' ' -f1)
    build_cmake -DCT_CONSUME=fetchcontent -DCTHREADING_URL="file://$work/$top.tar.gz" \
                -DCTHREADING_SHA256="$sha" -DCT_WAIT_BACKEND="$CT_BACKEND"
    check_and_run build/consumer static
    ;;
  cxx17)
    cxx=${2:?usage: consumer.sh cxx17 CXX}
    cxx_args=(-G "$CT_GENERATOR" -DCMAKE_CXX_COMPILER="$cxx" -DCT_EXPECT_VERSION="$version"
              -DCMAKE_PREFIX_PATH="$CT_PREFIX")
    [ -n "${CT_MAKE_PROGRAM:-}" ] && cxx_args+=(-DCMAKE_MAKE_PROGRAM="$CT_MAKE_PROGRAM")
    cmake -S "$app-cxx" -B build "${cxx_args[@]}" >configure.log 2>&1 \
      || { cat configure.log; echo "FAIL: configure"; exit 1; }
    grep -E 'consumer:' configure.log || true
    # --verbose: the log shows the flags (-Wold-style-cast ... -Werror, -std=c++17).
    cmake --build build --verbose >build.log 2>&1 || { cat build.log; echo "FAIL: build"; exit 1; }
    grep -q -- '-std=c++17' build.log || { echo "FAIL: not built as C++17"; exit 1; }
    grep -q -- '-isystem' build.log && { echo "FAIL: headers included as system headers"; exit 1; }
    "$cxx" --version | sed -n 1p
    build/consumer_cxx
    ;;
  *)
    echo "consumer.sh: unknown way '$way'" >&2
    exit 2
    ;;
esac
echo "PASS: consumer via $way"
