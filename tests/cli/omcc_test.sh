#!/bin/sh
# omcc command-line tests. usage: omcc_test.sh OMCC CASE WORKDIR
# Each case runs in a fresh WORKDIR/CASE, with TMPDIR pointing at a private
# directory that must be empty again afterwards (omcc cleans its temporaries).
set -u
omcc=$1 case=$2 work=$3/$2

rm -rf "$work"
mkdir -p "$work/tmp"
cd "$work" || exit 1
TMPDIR=$work/tmp
export TMPDIR

fail() { echo "FAIL: $*"; exit 1; }

# A sanitized omcc (OM_SANITIZE builds) must not report anything either.
clean_run() {
    if grep -qE "Sanitizer|runtime error:" err.txt; then cat err.txt; fail "'$*': sanitizer report"; fi
}

# expect_ok CMD...: must exit 0
expect_ok() {
    "$@" >out.txt 2>err.txt || { cat out.txt err.txt; fail "'$*' exited non-zero"; }
    clean_run "$@"
}

# expect_refused MESSAGE OUTPUT CMD...: must exit non-zero, print MESSAGE on
# stderr, and leave no OUTPUT file behind.
expect_refused() {
    msg=$1 output=$2
    shift 2
    if "$@" >out.txt 2>err.txt; then cat out.txt err.txt; fail "'$*' succeeded"; fi
    clean_run "$@"
    grep -qF -- "$msg" err.txt || { cat err.txt; fail "'$*': no \"$msg\" in the error"; }
    [ -n "$output" ] && [ -e "$output" ] && fail "'$*' left $output behind"
    echo "refused as expected: $(head -n 1 err.txt)"
}

# runs IMAGE EXPECTED: the image runs directly under Linux (static-PIE) and prints EXPECTED
runs() {
    [ -x "$1" ] || fail "$1 was not built"
    got=$("./$1") || fail "./$1 exited non-zero"
    [ "$got" = "$2" ] || fail "./$1 printed '$got', expected '$2'"
    echo "./$1 printed: $got"
}

hello() {
    cat > hello.c <<'EOF'
#include <stdio.h>
int main(void) { printf("hello, enclave\n"); return 0; }
EOF
}

two_files() {
    cat > main.c <<'EOF'
#include <stdio.h>
int twice(int);
int main(void) { printf("twice(21) = %d\n", twice(21)); return 0; }
EOF
    cat > util.c <<'EOF'
int twice(int x) { return 2 * x; }
EOF
}

case $case in
hello)
    hello
    expect_ok "$omcc" -O2 -g -Wall -Werror -std=c17 -o img hello.c
    runs img "hello, enclave"
    readelf -lW img | grep -q INTERP && fail "image has PT_INTERP"
    readelf -dW img | grep -q NEEDED && fail "image has DT_NEEDED"
    readelf -nW img | grep -q OPTMIG || fail "image has no OPTMIG note"
    ;;
default-output)
    hello
    expect_ok "$omcc" hello.c
    runs a.out "hello, enclave"
    ;;
compile-then-link)
    two_files
    expect_ok "$omcc" -O1 -c main.c util.c
    [ -f main.o ] && [ -f util.o ] || fail "-c did not write main.o and util.o"
    expect_ok "$omcc" -c util.c -o other.o
    [ -f other.o ] || fail "-c -o did not write other.o"
    expect_ok "$omcc" -o img main.o other.o
    runs img "twice(21) = 42"
    ;;
multiple-sources)
    two_files
    expect_ok "$omcc" -Os -o img main.c util.c
    runs img "twice(21) = 42"
    ;;
defines-includes)
    mkdir inc
    cat > inc/greeting.h <<'EOF'
#define GREETING "hi from " WHO
EOF
    cat > d.c <<'EOF'
#include <stdio.h>
#include "greeting.h"
#ifdef BROKEN
#error BROKEN must be undefined
#endif
int main(void) { printf("%s %d\n", GREETING, NUM); return 0; }
EOF
    expect_ok "$omcc" -I inc -DWHO='"defines"' -D NUM=7 -DBROKEN -UBROKEN -o img d.c
    runs img "hi from defines 7"
    ;;
static-library)
    two_files
    mkdir lib
    expect_ok "$omcc" -c util.c -o lib/util.o
    ar rcs lib/libutil2.a lib/util.o || fail "ar failed"
    cat > m.c <<'EOF'
#include <math.h>
#include <pthread.h>
#include <stdio.h>
int twice(int);
static void *run(void *p) { return p; }
int main(void) {
    volatile double x = 2.0;
    pthread_t t;
    void *r = 0;
    if (pthread_create(&t, 0, run, (void *)42) || pthread_join(t, &r)) return 1;
    printf("%d %.3f %ld\n", twice(3), sqrt(x), (long)r);
    return 0;
}
EOF
    expect_ok "$omcc" -pthread -o img m.c -Llib -lutil2 -lm -lpthread -lrt
    runs img "6 1.414 42"
    rm -f img
    expect_refused "cannot find -lnosuchlib" img "$omcc" -o img m.c -Llib -lnosuchlib
    ;;
tls-lld)
    cat > tls.c <<'EOF'
#include <stdio.h>
static __thread int zeroed;
static __thread int seven = 7;
int main(void) { zeroed += 1; seven += 1; printf("tls %d %d\n", zeroed, seven); return 0; }
EOF
    expect_ok "$omcc" -O2 -o img-bfd tls.c
    runs img-bfd "tls 1 8"
    expect_ok "$omcc" -O2 -fuse-ld=lld -o img-lld tls.c
    grep -q "unused" err.txt && { cat err.txt; fail "-fuse-ld reached the compiler"; }
    runs img-lld "tls 1 8"
    ;;
verbose)
    hello
    expect_ok "$omcc" -v -o img hello.c
    grep -q -- "-fPIE -c hello.c" err.txt || { cat err.txt; fail "-v did not print the compile command"; }
    grep -q -- "-static-pie" err.txt || { cat err.txt; fail "-v did not print the link command"; }
    grep -q "libomrt.a" err.txt || fail "-v did not print the runtime"
    runs img "hello, enclave"
    ;;
help-version)
    expect_ok "$omcc" --help
    grep -q "usage: omcc" out.txt || fail "--help printed no usage"
    expect_ok "$omcc" --version
    grep -q "omcc (optmig)" out.txt || fail "--version printed no version"
    ;;
cxx-refused)
    echo 'int main() { return 0; }' > x.cpp
    expect_refused "C++ is not supported in enclaves" a.out "$omcc" x.cpp
    hello
    expect_refused "C++ is not supported in enclaves" img "$omcc" -std=c++17 -o img hello.c
    ;;
shared-refused)
    hello
    expect_refused "'-shared' is not supported" img "$omcc" -shared -o img hello.c
    ;;
conflicts-refused)
    hello
    for f in -static -no-pie -nostdlib -nostartfiles -nodefaultlibs -nostdinc -rdynamic \
             -fno-pie -m32 -Wl,-rpath,/x -fsanitize=address; do
        expect_refused "'$f' is not supported" img "$omcc" "$f" -o img hello.c
    done
    expect_refused "holds host (glibc) headers" img "$omcc" -I/usr/include -o img hello.c
    expect_refused "holds host libraries" img "$omcc" -L/usr/lib/x86_64-linux-gnu -o img hello.c
    echo 'x' > lib.so
    expect_refused "shared libraries cannot be linked" img "$omcc" -o img hello.c lib.so
    ;;
dlopen-refused)
    cat > dl.c <<'EOF'
#include <dlfcn.h>
#include <stdio.h>
int main(void) { void *h = dlopen("libz.so.1", RTLD_NOW); printf("%p\n", h); return 0; }
EOF
    expect_refused "links 'dlopen'" img "$omcc" -o img dl.c
    cat > dls.c <<'EOF'
#include <dlfcn.h>
int main(void) { return dlsym(RTLD_DEFAULT, "main") != 0; }
EOF
    expect_refused "links 'dlsym'" img "$omcc" -o img dls.c
    ;;
bad-flag)
    hello
    expect_refused "unsupported option '--bogus'" img "$omcc" --bogus -o img hello.c
    expect_refused "unknown optimization level '-O9x'" img "$omcc" -O9x -o img hello.c
    expect_refused "missing argument to '-o'" "" "$omcc" hello.c -o
    expect_refused "no input files" "" "$omcc" -O2
    expect_refused "nosuch.c: No such file or directory" "" "$omcc" nosuch.c
    ;;
compile-error)
    echo 'int main(void) { return undeclared; }' > bad.c
    expect_refused "undeclared" img "$omcc" -o img bad.c
    expect_refused "undeclared" bad.o "$omcc" -c bad.c
    ;;
track-option)
    # om_cc_modes holds one record 0x4f4dXXXX per pass-built module (XXXX:
    # bit 0 dirty, 1 access, 2 polls) beside the runtime's zero anchor.
    hello
    modes() { readelf -x om_cc_modes "$1" | grep -Eo '0x[0-9a-f]+ +[0-9a-f ]+' | cut -d' ' -f2- | tr -d ' \n'; }
    for t in all:07004d4f dirty:05004d4f access:06004d4f none:04004d4f; do
        expect_ok "$omcc" -O2 --track="${t%%:*}" -o img hello.c
        runs img "hello, enclave"
        modes img | grep -q "${t#*:}" || { readelf -x om_cc_modes img; fail "--track=${t%%:*}: no record ${t#*:}"; }
    done
    expect_ok "$omcc" -O2 -v -o img hello.c
    grep -q -- "-fpass-plugin=.*OptMigPass.so" err.txt || { cat err.txt; fail "the pass is not loaded by default"; }
    grep -q -- "-optmig-track=dirty+access" err.txt || fail "default is not --track=all"
    expect_ok "$omcc" -O2 -v --track=none --no-polls -o img hello.c
    grep -q -- "-fpass-plugin" err.txt && fail "--track=none --no-polls still loads the pass"
    modes img | grep -q 4d4f && fail "--track=none --no-polls left a mode record"
    runs img "hello, enclave"
    ;;
bad-track)
    hello
    expect_refused "bad value in '--track=bogus': expected --track=all, dirty, access or none" img \
        "$omcc" --track=bogus -o img hello.c
    expect_refused "bad value in '--track='" img "$omcc" --track= -o img hello.c
    OMCC_RUNTIME_DIR=$work/nowhere
    export OMCC_RUNTIME_DIR
    expect_refused "compiler pass plugin not found: $work/nowhere/OptMigPass.so" hello.o "$omcc" -c hello.c
    expect_ok "$omcc" --track=none --no-polls -c hello.c
    unset OMCC_RUNTIME_DIR
    ;;
nm-missing)
    # Without llvm-nm omcc cannot list the app's libc calls: the image must be
    # flagged (auto then takes the kernel tracker), never silently trusted.
    hello
    expect_ok "$omcc" -o img hello.c
    grep -q 'compiler tracker cannot follow' err.txt && { cat err.txt; fail "hello.c flagged as uncovered"; }
    # The record is read from its section: the runtime's code holds the magic too.
    llvm-readelf-14 -p om_cc_uncov img >sec.txt || fail "llvm-readelf-14 cannot read img"
    grep -q 'OMCCUNC1' sec.txt && { cat sec.txt; fail "hello.c's image records uncovered calls"; }
    OMCC_NM=$work/nowhere/llvm-nm
    export OMCC_NM
    expect_ok "$omcc" -o img2 hello.c
    grep -qF "cannot run $work/nowhere/llvm-nm" err.txt || { cat err.txt; fail "no warning that llvm-nm did not run"; }
    llvm-readelf-14 -p om_cc_uncov img2 >sec.txt || fail "llvm-readelf-14 cannot read img2"
    grep -qF 'OMCCUNC1unknown-libc-calls(llvm-nm-failed)' sec.txt || { cat sec.txt; fail "the image is not flagged when llvm-nm fails"; }
    unset OMCC_NM
    ;;
missing-runtime)
    hello
    OMCC_RUNTIME_DIR=$work/nowhere
    export OMCC_RUNTIME_DIR
    expect_refused "trusted runtime not found: $work/nowhere/libomrt.a" img "$omcc" -o img hello.c
    unset OMCC_RUNTIME_DIR
    ;;
missing-clang)
    hello
    OMCC_CLANG=no-such-clang-xyz
    export OMCC_CLANG
    expect_refused "cannot run no-such-clang-xyz" img "$omcc" -o img hello.c
    unset OMCC_CLANG
    ;;
*)
    fail "unknown case $case"
    ;;
esac

leftover=$(ls -A "$work/tmp")
[ -z "$leftover" ] || fail "temporaries left in TMPDIR: $leftover"
echo "PASS: $case"
