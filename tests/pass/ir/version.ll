; Idle cost: a straight run of instrumented code between parking points is
; duplicated; one test of the sampled limit (non-zero while any compiled-in
; tracking is on) picks the instrumented copy, else the plain one. Values the
; run defines are merged with phis.
; RUN: %opt -passes='optmig<dirty;access;no-polls>' %s | FileCheck %s
; RUN: %opt -passes='optmig<dirty;access;no-polls;no-version>' %s | FileCheck %s --check-prefix=NOVER
; NOVER-NOT: om.tracking
; NOVER-NOT: om.plain

target datalayout = "e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-f80:128-n8:16:32:64-S128"
target triple = "x86_64-pc-linux-gnu"

declare void @ext()

; CHECK-LABEL: define i64 @rmw(
; CHECK:         [[ON:%.*]] = and i32 %om.track, 3
; CHECK-NEXT:    [[ONB:%.*]] = icmp ne i32 [[ON]], 0
; CHECK-NEXT:    %om.anylim = select i1 [[ONB]], i64 %om.bytes, i64 0
; CHECK:         %om.tracking = icmp ne i64 %om.anylim, 0
; CHECK-NEXT:    br i1 %om.tracking, label %om.tracked, label %om.plain
; CHECK:       om.tracked:
; CHECK:         br i1 %om.in, label %om.check, label %{{.*}}, !prof ![[LIKELY:[0-9]+]]
; CHECK:         call void @__om_access_slow(
; CHECK:         %v = load i64, i64* %p, align 8
; CHECK-NEXT:    %w = add i64 %v, %x
; CHECK-NEXT:    store i64 %w, i64* %p, align 8
; CHECK:         store atomic i8 1
; CHECK:         br label %om.join
; CHECK:       om.join:
; CHECK-NEXT:    %v.om = phi i64 [ %v, %{{.*}} ], [ %v.plain, %om.plain ]
; CHECK-NEXT:    call void @ext()
; CHECK:         %om.tracking{{[0-9]+}} = icmp ne i64 %om.anylim{{[0-9]+}}, 0
; CHECK:         store i64 0, i64* %p, align 8
; CHECK:         ret i64 %v.om
; CHECK:       om.plain:
; CHECK-NEXT:    %v.plain = load i64, i64* %p, align 8
; CHECK-NEXT:    %w.plain = add i64 %v.plain, %x
; CHECK-NEXT:    store i64 %w.plain, i64* %p, align 8
; CHECK-NEXT:    br label %om.join
define i64 @rmw(i64* %p, i64 %x) {
  %v = load i64, i64* %p, align 8
  %w = add i64 %v, %x
  store i64 %w, i64* %p, align 8
  call void @ext()
  store i64 0, i64* %p, align 8
  ret i64 %v
}

; In a tracked copy (it runs only while tracking is on) an address in the
; range is the likely case.
; CHECK: ![[LIKELY]] = !{!"branch_weights", i32 64, i32 1}
