#!/usr/bin/env bash
# Packaging checks (docs/testing.md), run by `./dev test` after the default
# build and the shared build are built:
#
#   tests/packaging/check.sh STATIC_BUILD SHARED_BUILD
#
# STATIC_BUILD is the default build (static libraries, everything);
# SHARED_BUILD the shared, SQLite-only one (BUILD_SHARED_LIBS=ON,
# REPRISE_WITH_POSTGRES=OFF, REPRISE_BUILD_CONSOLE=OFF, libraries and demo
# only). It installs both into temporary prefixes, makes the .debs with
# `./dev package` and unpacks them, and against each of the three builds the
# out-of-tree host (tests/packaging/host) with CMake and with pkg-config, runs
# it and reaches it with the console; against the two installs, the same for
# the transports' host (tests/packaging/transport_host). It checks the one version everywhere,
# the headers, the man page and completion, and that the SQLite-only build
# links neither libpq nor readline. The first failure stops it, saying what.
set -euo pipefail
# Never `cmd | grep -q`: grep -q exits at the first match, cmd may then die of
# SIGPIPE, and pipefail turns that into a failed check. Read from < <(cmd).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATIC="$(cd "$1" && pwd)"
SHARED="$(cd "$2" && pwd)"
HOST_SRC="$ROOT/tests/packaging/host"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/reprise-packaging.XXXXXX")"
VERSION="$(sed -n 's/^project(reprise VERSION \([0-9.]*\).*/\1/p' "$ROOT/CMakeLists.txt")"
JOBS="$(nproc 2>/dev/null || echo 2)"

fail() {
  printf 'packaging check FAILED: %s\n(files kept in %s)\n' "$*" >&2
  exit 1
}
say() { printf -- '--- %s\n' "$*"; }
[[ -n "$VERSION" ]] || fail "no project(reprise VERSION ...) in CMakeLists.txt"

# The one version: the console, the demo and (below) Describe and packages.
expect_version() { # PROGRAM
  local got
  got="$("$1" --version)" || fail "$1 --version failed"
  [[ "$got" == "$(basename "$1") $VERSION (api reprise.v1)" ]] \
    || fail "$1 --version says \"$got\", expected version $VERSION"
}

# Installing -----------------------------------------------------------------
say "installing $STATIC and $SHARED into $WORK"
cmake --install "$STATIC" --prefix "$WORK/static" >"$WORK/install-static.log" \
  || fail "cmake --install $STATIC (log: $WORK/install-static.log)"
cmake --install "$SHARED" --prefix "$WORK/shared" >"$WORK/install-shared.log" \
  || fail "cmake --install $SHARED (log: $WORK/install-shared.log)"
for f in bin/reprise bin/reprise-demo include/reprise/agent/agent.h include/reprise/base/version.h \
         include/reprise/http/endpoint.h include/reprise/amqp/binding.h \
         share/reprise/proto/reprise/v1/agent.proto share/doc/reprise/LICENSE \
         share/man/man1/reprise.1.gz share/bash-completion/completions/reprise; do
  [[ -f "$WORK/static/$f" ]] || fail "cmake --install did not install $f"
done
CONSOLE="$WORK/static/bin/reprise"
expect_version "$CONSOLE"
expect_version "$WORK/static/bin/reprise-demo"
expect_version "$WORK/shared/bin/reprise-demo"

# The host --------------------------------------------------------------------
# build_host NAME cmake|pkg-config PREFIX [--static]: builds the host into
# $WORK/NAME against the installed Reprise under PREFIX.
build_host() {
  local name="$1" how="$2" prefix="$3" static="${4:-}" out="$WORK/$1"
  mkdir -p "$out"
  if [[ "$how" == cmake ]]; then
    { cmake -S "$HOST_SRC" -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_PREFIX_PATH="$prefix" -DEXPECTED_VERSION="$VERSION" \
        && cmake --build "$out"; } >"$out/build.log" 2>&1 \
      || { cat "$out/build.log" >&2; fail "$name: the host does not build with find_package(Reprise) from $prefix"; }
  else
    local pcdir
    pcdir="$(dirname "$(find "$prefix" -name reprise.pc | head -n 1)")"
    [[ -f "$pcdir/reprise.pc" ]] || fail "$name: no reprise.pc under $prefix"
    [[ "$(PKG_CONFIG_PATH="$pcdir" pkg-config --modversion reprise)" == "$VERSION" ]] \
      || fail "$name: reprise.pc does not say version $VERSION"
    PKG_CONFIG_PATH="$pcdir" make -s -C "$HOST_SRC" OUT="$out/packaged-host" PKG_CONFIG_FLAGS="$static" \
      >"$out/build.log" 2>&1 \
      || { cat "$out/build.log" >&2; fail "$name: the host does not build with pkg-config from $pcdir"; }
  fi
  [[ -x "$out/packaged-host" ]] || fail "$name: no host binary"
}

# run_host NAME CONSOLE: runs the host built by build_host NAME; the console
# must find the message it recorded, and Describe must report the version.
run_host() {
  local name="$1" console="$2" out="$WORK/$1" pid addr id fd
  mkfifo "$out/stdin"
  "$out/packaged-host" "$out/host.journal" <"$out/stdin" >"$out/host.out" 2>&1 &
  pid=$!
  exec {fd}>"$out/stdin"
  for _ in $(seq 300); do
    grep -q "listening on" "$out/host.out" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  addr="$(sed -n 's/.* listening on //p' "$out/host.out")"
  id="$(sed -n 's/.* recorded \([0-9A-Z]*\),.*/\1/p' "$out/host.out")"
  if [[ -z "$addr" || -z "$id" ]]; then
    exec {fd}>&-
    cat "$out/host.out" >&2
    fail "$name: the host did not start"
  fi
  grep -q "^packaged-host $VERSION " "$out/host.out" || fail "$name: the host was built with another version"
  "$console" --agent "$addr" -c "show $id" >"$out/show.txt" 2>&1 \
    && grep -q "hello from an installed Reprise" "$out/show.txt" \
    || { exec {fd}>&-; cat "$out/show.txt" >&2; fail "$name: the console did not find the host's message"; }
  "$console" --agent "$addr" -c status >"$out/status.txt" 2>&1 \
    && grep -q "version $VERSION, api reprise.v1" "$out/status.txt" \
    || { exec {fd}>&-; cat "$out/status.txt" >&2; fail "$name: Describe does not report version $VERSION"; }
  exec {fd}>&-
  wait "$pid" || fail "$name: the host exited with status $?"
  echo "$name: built, ran, recorded $id, reached by the console"
}

check_host() { # NAME HOW PREFIX CONSOLE [--static]
  build_host "$1" "$2" "$3" "${5:-}"
  run_host "$1" "$4"
}

say "the host against the static install"
check_host static-cmake cmake "$WORK/static" "$CONSOLE"
check_host static-pkg-config pkg-config "$WORK/static" "$CONSOLE" --static
say "the host against the shared install"
check_host shared-cmake cmake "$WORK/shared" "$CONSOLE"
check_host shared-pkg-config pkg-config "$WORK/shared" "$CONSOLE"
for name in shared-cmake shared-pkg-config; do
  grep -q "libreprise_agent.so.${VERSION%%.*} => $WORK/shared/" < <(ldd "$WORK/$name/packaged-host") \
    || fail "$name: the host is not linked with the shared libreprise_agent of $WORK/shared"
done

# The transports' host ------------------------------------------------------------
# check_transport_host NAME cmake|pkg-config PREFIX [--static]: builds
# tests/packaging/transport_host (Reprise::http and Reprise::amqp, or
# reprise-http and reprise-amqp) into $WORK/NAME against PREFIX and runs it.
TRANSPORT_SRC="$ROOT/tests/packaging/transport_host"
check_transport_host() {
  local name="$1" how="$2" prefix="$3" static="${4:-}" out="$WORK/$1"
  mkdir -p "$out"
  if [[ "$how" == cmake ]]; then
    { cmake -S "$TRANSPORT_SRC" -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
        && cmake --build "$out"; } >"$out/build.log" 2>&1 \
      || { cat "$out/build.log" >&2; fail "$name: the transport host does not build with find_package(Reprise COMPONENTS http amqp) from $prefix"; }
  else
    local pcdir
    pcdir="$(dirname "$(find "$prefix" -name reprise-http.pc | head -n 1)")"
    [[ -f "$pcdir/reprise-http.pc" && -f "$pcdir/reprise-amqp.pc" ]] \
      || fail "$name: no reprise-http.pc and reprise-amqp.pc under $prefix"
    PKG_CONFIG_PATH="$pcdir" make -s -C "$TRANSPORT_SRC" OUT="$out/transport-host" PKG_CONFIG_FLAGS="$static" \
      >"$out/build.log" 2>&1 \
      || { cat "$out/build.log" >&2; fail "$name: the transport host does not build with pkg-config from $pcdir"; }
  fi
  "$out/transport-host" "$out/host.journal" >"$out/run.out" 2>&1 && grep -q "^transports ok" "$out/run.out" \
    || { cat "$out/run.out" >&2; fail "$name: the transport host failed"; }
  echo "$name: $(grep "^transports ok" "$out/run.out")"
}

say "the transports' host against the static and the shared install"
check_transport_host static-cmake-transports cmake "$WORK/static"
check_transport_host static-pkg-config-transports pkg-config "$WORK/static" --static
check_transport_host shared-cmake-transports cmake "$WORK/shared"
check_transport_host shared-pkg-config-transports pkg-config "$WORK/shared"
for name in shared-cmake-transports shared-pkg-config-transports; do
  for part in http amqp; do
    grep -q "libreprise_$part.so.${VERSION%%.*} => $WORK/shared/" < <(ldd "$WORK/$name/transport-host") \
      || fail "$name: the host is not linked with the shared libreprise_$part of $WORK/shared"
  done
done

# Shared libraries and the SQLite-only build -----------------------------------
say "shared libraries: SONAME, visibility; SQLite-only: no libpq, no readline"
grep -q '^REPRISE_WITH_POSTGRES:BOOL=OFF' "$SHARED/CMakeCache.txt" \
  && grep -q '^REPRISE_BUILD_CONSOLE:BOOL=OFF' "$SHARED/CMakeCache.txt" \
  || fail "$SHARED is not configured without PostgreSQL and the console"
if grep -E '^(PostgreSQL_LIBRARY[^=]*=/|READLINE_)' "$SHARED/CMakeCache.txt"; then
  fail "$SHARED looked for libpq or readline (above) although it needs neither"
fi
lib="$(find "$WORK/shared" -name "libreprise_agent.so.$VERSION")"
[[ -n "$lib" ]] || fail "no libreprise_agent.so.$VERSION installed"
grep -q "SONAME.*\[libreprise_agent.so.${VERSION%%.*}\]" < <(readelf -d "$lib") \
  || fail "libreprise_agent's SONAME is not libreprise_agent.so.${VERSION%%.*}"
grep -q "reprise::Agent::Start(" < <(nm -DC --defined-only "$lib") || fail "$lib does not export Agent::Start"
if nm -DC --defined-only "$lib" | grep -E "reprise::(HandlerContext|AgentCore|Gatekeeper)"; then
  fail "$lib exports the agent's internals (above); they must stay hidden"
fi
while IFS= read -r elf; do
  if readelf -d "$elf" | grep -Ei "NEEDED.*(libpq|libreadline)"; then
    fail "$elf needs libpq or readline in a SQLite-only build"
  fi
  if nm -D "$elf" 2>/dev/null | grep -E " (PQ[a-z]+|readline|rl_[a-z_]+)$"; then
    fail "$elf uses libpq or readline symbols in a SQLite-only build"
  fi
done < <(find "$WORK/shared" "$WORK"/shared-* -type f \( -name '*.so*' -o -perm -u+x \) \
           -exec sh -c 'head -c 4 "$1" | grep -q ELF' _ {} \; -print)
if "$WORK/shared/bin/reprise-demo" --journal postgresql://localhost/x --listen 127.0.0.1:0 --rate 0 \
     </dev/null >"$WORK/pg.out" 2>&1; then
  fail "the SQLite-only demo accepted a postgresql:// journal"
fi
grep -q "REPRISE_WITH_POSTGRES" "$WORK/pg.out" \
  || { cat "$WORK/pg.out" >&2; fail "refusing a postgresql:// journal does not name REPRISE_WITH_POSTGRES"; }

# Headers -------------------------------------------------------------------------
say "each installed header compiles on its own"
(cd "$WORK/static/include" && find reprise -name '*.h' | sort) >"$WORK/headers.txt"
(($(wc -l <"$WORK/headers.txt") > 20)) || fail "too few headers installed"
compile_header() {
  printf '#include "%s"\n' "$1" | c++ -std=c++20 -fsyntax-only -Wall -Wextra -Werror \
    -I"$WORK/static/include" -x c++ - 2>"$WORK/header.$$.log" \
    || { cat "$WORK/header.$$.log" >&2; echo "$1 does not compile on its own" >&2; return 1; }
}
export -f compile_header
export WORK
xargs -P "$JOBS" -I{} bash -c 'compile_header {}' <"$WORK/headers.txt" \
  || fail "an installed header does not compile on its own (above)"

# Debian packages -------------------------------------------------------------------
say "./dev package, then the host against the unpacked .debs"
"$ROOT/dev" package >"$WORK/package.log" 2>&1 || { tail -n 30 "$WORK/package.log" >&2; fail "./dev package"; }
mapfile -t debs < <(find "$STATIC/packages" -maxdepth 1 -name "*_${VERSION}_*.deb" | sort)
((${#debs[@]} == 2)) || fail "./dev package made ${#debs[@]} packages of version $VERSION, expected 2: ${debs[*]}"
for deb in "${debs[@]}"; do
  [[ "$(dpkg-deb -f "$deb" Version)" == "$VERSION" ]] || fail "$deb: version is not $VERSION"
  dpkg -x "$deb" "$WORK/deb"
done
DEB="$WORK/deb/usr"
for f in bin/reprise bin/reprise-demo share/doc/reprise/LICENSE share/doc/libreprise-dev/LICENSE \
         share/man/man1/reprise.1.gz share/bash-completion/completions/reprise \
         share/reprise/proto/reprise/v1/agent.proto; do
  [[ -f "$DEB/$f" ]] || fail "the packages lack /usr/$f"
done
expect_version "$DEB/bin/reprise"
expect_version "$DEB/bin/reprise-demo"
check_host deb-cmake cmake "$DEB" "$DEB/bin/reprise"
check_host deb-pkg-config pkg-config "$DEB" "$DEB/bin/reprise" --static

say "man reprise lists every command that help lists"
command -v man >/dev/null || fail "man is not installed (./dev deps installs man-db)"
MANWIDTH=120 man -l "$DEB/share/man/man1/reprise.1.gz" >"$WORK/man.txt" 2>"$WORK/man.err" \
  || { cat "$WORK/man.err" >&2; fail "man cannot read reprise.1.gz"; }
"$DEB/bin/reprise" --json -c help >"$WORK/help.json" || fail "reprise -c help failed"
mapfile -t commands < <(python3 -c 'import json,sys; [print(c["name"]) for c in json.load(sys.stdin)["commands"]]' \
                          <"$WORK/help.json")
((${#commands[@]} > 10)) || fail "help lists only ${#commands[@]} commands"
for c in "${commands[@]}"; do
  grep -Eq "^ +$c$" "$WORK/man.txt" || fail "man reprise lacks the command \"$c\" that help lists"
  grep -Eq "^ +usage: $c( |$)" "$WORK/man.txt" || fail "man reprise lacks the usage of \"$c\""
done
bash -c "source '$DEB/share/bash-completion/completions/reprise' && complete -p reprise" >/dev/null \
  || fail "the bash completion file does not register a completion for reprise"

echo "packaging checks passed: 6 hosts (static, shared and packaged; CMake and pkg-config), 4 transport hosts, version $VERSION, $(wc -l <"$WORK/headers.txt") headers, ${#commands[@]} commands in the man page"
rm -rf "$WORK"
