#!/bin/sh
# Builds what test_image and the image fuzzer read: valid.img (omcc), one
# image per mkbadimg variant, and real binaries that are not enclave images.
# usage: image_setup.sh OMCC MKBADIMG OUTDIR CLANG MUSL_INC MUSL_LIB
set -eu
omcc=$1 mkbadimg=$2 out=$3 clang=$4 musl_inc=$5 musl_lib=$6

rm -rf "$out"
mkdir -p "$out"
cd "$out"
cat > hello.c <<'SRC'
#include <stdio.h>
int main(void) { puts("hello from an enclave image"); return 0; }
SRC

"$omcc" -O2 -o valid.img hello.c
cat > tbss.c <<'SRC'
#include <stdio.h>
static __thread int counter; /* .tbss only: lld puts PT_TLS outside every PT_LOAD */
int main(void) { printf("%d\n", ++counter); return 0; }
SRC
"$omcc" -O2 -fuse-ld=lld -o lld-tbss.img tbss.c
for v in $("$mkbadimg" --list); do
    "$mkbadimg" "$v" valid.img "$v.img"
done
strip -o stripped.img valid.img

rd=$("$clang" -print-resource-dir)
"$clang" -nostdinc -isystem "$musl_inc" -isystem "$rd/include" -fPIE -c hello.c -o hello.o
cp hello.o real-object.img
"$clang" -static-pie -nostdlib -nostartfiles -Wl,--no-dynamic-linker \
    "$musl_lib/rcrt1.o" "$musl_lib/crti.o" hello.o "$musl_lib/libc.a" \
    "$rd/lib/linux/libclang_rt.builtins-x86_64.a" "$musl_lib/crtn.o" -o real-musl-no-runtime.img
"$clang" hello.c -o real-glibc-dynamic.img
"$clang" -static-pie hello.c -o real-glibc-static-pie.img
cp hello.c real-text.img
rm -f hello.o
echo "made $(ls ./*.img | wc -l) images in $out"
