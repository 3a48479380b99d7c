#!/usr/bin/env bash
# ThreadSanitizer job: the parallel engine's tests (threads x partitions, the async writer)
# built with -fsanitize=thread against a oneTBB built with ThreadSanitizer too. Debian's
# libtbb is not instrumented, so TSan would not see its synchronisation and would report
# oneTBB's own task hand-offs; we build Debian's oneTBB source (the same 2021.8 version) once,
# into build-tsan/onetbb.
#   bash tools/test_tsan.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bash tools/setup.sh --deps
jobs=$(( $(nproc) < 2 ? 1 : 2 ))
prefix=$root/build-tsan/onetbb
if [ ! -f "$prefix/lib/cmake/TBB/TBBConfig.cmake" ]; then
    src=$(mktemp -d)
    list=/etc/apt/sources.list.d/glia-deb-src.sources
    if ! grep -rqs "deb-src" /etc/apt/sources.list /etc/apt/sources.list.d/; then
        sudo_cmd=()
        [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
        printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' |
            "${sudo_cmd[@]}" tee "$list" > /dev/null
        "${sudo_cmd[@]}" apt-get update -q
    fi
    (cd "$src" && apt-get source -q --download-only onetbb && tar xf onetbb_*.orig.tar.xz)
    tbb_src=$(ls -d "$src"/oneTBB-*/)
    cmake -S "$tbb_src" -B "$src/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTBB_TEST=OFF \
        -DTBB_EXAMPLES=OFF -DTBBMALLOC_BUILD=OFF -DTBB_STRICT=OFF -DTBB_SANITIZE=thread \
        -DCMAKE_INSTALL_PREFIX="$prefix" > /dev/null
    cmake --build "$src/build" -j"$jobs" > /dev/null
    cmake --install "$src/build" > /dev/null
    rm -rf "$src"
fi
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGLIA_SANITIZE=thread \
    -DTBB_DIR="$prefix/lib/cmake/TBB" > /dev/null
cmake --build build-tsan -j"$jobs" --target glia_tests_core glia_tests_io
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
./build-tsan/tests/glia_tests_core
# The asynchronous writer and the signal watcher (threads of their own); the HDF5 kill tests
# fork and are left to the normal suite.
./build-tsan/tests/glia_tests_io --gtest_filter='async_sink*:signal_watcher*:hdf5_sink.round_trips_through_async_sink'
echo "tsan: no data race found"
