; Same-page merging within a block: accesses whose addresses differ by a
; constant (ScalarEvolution) and whose bytes fit in a 4 KiB hull get one check
; (before the first) and one mark (after the last), covering the hull's first
; and last byte. A call ends the group (a thread may park in it).
; RUN: %opt -passes='optmig<dirty;access;no-polls>' %s | FileCheck %s
; RUN: %opt -passes='optmig<dirty;access;no-polls;no-opt>' %s | FileCheck %s --check-prefix=NOOPT

target datalayout = "e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-f80:128-n8:16:32:64-S128"
target triple = "x86_64-pc-linux-gnu"

%struct.s = type { i64, i64, i64, i64, i64, i64 }

declare void @ext()

; Fields a (0..8), c (16..24), f (40..48): one check of bytes 0..47 before a,
; one mark of bytes 0..47 after f.
; CHECK-LABEL: define void @fields(
; CHECK:         %om.addr = ptrtoint %struct.s* %s to i64
; CHECK:         call void @__om_access_slow(i8* %{{.*}}, i64 48, i32 1)
; CHECK:         %om.off.last = add i64 %om.off, 47
; CHECK:         call void @__om_access_slow(i8* %{{.*}}, i64 48, i32 1)
; CHECK:         store i64 1, i64* %a, align 8
; CHECK-NEXT:    %c = getelementptr
; CHECK-NEXT:    store i64 3, i64* %c, align 8
; CHECK-NEXT:    %f = getelementptr
; CHECK-NEXT:    store i64 6, i64* %f, align 8
; CHECK-NEXT:    [[S:%om.addr[0-9]+]] = ptrtoint %struct.s* %s to i64
; CHECK-NEXT:    %om.off{{[0-9]+}} = sub i64 [[S]], %om.base
; CHECK:         store atomic i8 1
; CHECK:         add i64 %om.off{{[0-9]+}}, 47
; CHECK:         store atomic i8 1
; CHECK-NOT:     __om_access_slow
; CHECK-NOT:     store atomic i8 1
; CHECK:         ret void
; NOOPT-LABEL: define void @fields(
; NOOPT-COUNT-3: call void @__om_access_slow(i8* %{{.*}}, i64 8, i32 1)
; NOOPT-NOT:     call void @__om_access_slow
; NOOPT-COUNT-3: store atomic i8 1
; NOOPT:         ret void
define void @fields(%struct.s* %s) {
  %a = getelementptr %struct.s, %struct.s* %s, i64 0, i32 0
  store i64 1, i64* %a, align 8
  %c = getelementptr %struct.s, %struct.s* %s, i64 0, i32 2
  store i64 3, i64* %c, align 8
  %f = getelementptr %struct.s, %struct.s* %s, i64 0, i32 5
  store i64 6, i64* %f, align 8
  ret void
}

; Two stores to the same 8 bytes merge without widening: one single-page
; check and one single-page mark.
; CHECK-LABEL: define void @same_word(
; CHECK-COUNT-1: call void @__om_access_slow(i8* %{{.*}}, i64 8, i32 1)
; CHECK-NOT:     om.off.last
; CHECK-NOT:     call void @__om_access_slow
; CHECK:         store i64 1, i64* %p, align 8
; CHECK-NEXT:    store volatile i64 2, i64* %p, align 8
; CHECK-COUNT-1: store atomic i8 1
; CHECK-NOT:     store atomic i8 1
; CHECK:         ret void
define void @same_word(i64* %p) {
  store i64 1, i64* %p, align 8
  store volatile i64 2, i64* %p, align 8
  ret void
}

; A call in between: two groups (each a single access here).
; CHECK-LABEL: define void @split_by_call(
; CHECK:         store i64 1, i64* %a, align 8
; CHECK:         store atomic i8 1
; CHECK:         call void @ext()
; CHECK-NEXT:    %om.pages{{[0-9]+}} = load i64, i64* @__om_range_pages
; CHECK:         call void @__om_access_slow(i8* %{{.*}}, i64 8, i32 1)
; CHECK:         store i64 2, i64* %b, align 8
; CHECK:         store atomic i8 1
; CHECK:         ret void
define void @split_by_call(%struct.s* %s) {
  %a = getelementptr %struct.s, %struct.s* %s, i64 0, i32 0
  store i64 1, i64* %a, align 8
  call void @ext()
  %b = getelementptr %struct.s, %struct.s* %s, i64 0, i32 1
  store i64 2, i64* %b, align 8
  ret void
}

; Offsets more than 4 KiB apart do not merge.
; CHECK-LABEL: define void @far_apart(
; CHECK:         call void @__om_access_slow(i8* %{{.*}}, i64 8, i32 1)
; CHECK:         call void @__om_access_slow(i8* %{{.*}}, i64 8, i32 1)
; CHECK:         ret void
define void @far_apart(i64* %p) {
  store i64 1, i64* %p, align 8
  %q = getelementptr i64, i64* %p, i64 1000
  store i64 2, i64* %q, align 8
  ret void
}

; The copies of an unrolled loop body (variable index, constant distance)
; merge too: one 32-byte hull per iteration.
; The offset is formed from (GEP base - range base), loop-invariant, plus
; the scaled index.
; CHECK-LABEL: define void @unrolled(
; CHECK:       loop:
; CHECK:         %om.addr = ptrtoint i64* %a to i64
; CHECK-NEXT:    %om.rel = sub i64 %om.addr, %om.base
; CHECK-NEXT:    [[IDX:%.*]] = mul i64 %i, 8
; CHECK-NEXT:    %om.off = add i64 %om.rel, [[IDX]]
; CHECK-COUNT-2: call void @__om_access_slow(i8* %{{.*}}, i64 32, i32 1)
; CHECK-NOT:     call void @__om_access_slow
; CHECK:         store i64 %i, i64* %p0, align 8
; CHECK:         store i64 %i, i64* %p3, align 8
; CHECK-COUNT-2: store atomic i8 1
; CHECK-NOT:     store atomic i8 1
; CHECK:         br i1 %done
define void @unrolled(i64* %a, i64 %n) {
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i.next, %loop ]
  %p0 = getelementptr i64, i64* %a, i64 %i
  store i64 %i, i64* %p0, align 8
  %i1 = or i64 %i, 1
  %p1 = getelementptr i64, i64* %a, i64 %i1
  store i64 %i, i64* %p1, align 8
  %i2 = or i64 %i, 2
  %p2 = getelementptr i64, i64* %a, i64 %i2
  store i64 %i, i64* %p2, align 8
  %i3 = or i64 %i, 3
  %p3 = getelementptr i64, i64* %a, i64 %i3
  store i64 %i, i64* %p3, align 8
  %i.next = add nuw i64 %i, 4
  %done = icmp uge i64 %i.next, %n
  br i1 %done, label %exit, label %loop
exit:
  ret void
}
