; -optmig-mark-test: a dirty mark loads the map byte and stores 1 only if it
; is 0, so threads writing the same pages keep the map's cache lines shared.
; Default: the store is unconditional.
; RUN: %opt -passes='optmig<dirty;no-polls;mark-test>' %s | FileCheck %s
; RUN: %opt -passes='optmig<dirty;no-polls>' %s | FileCheck %s --check-prefix=PLAIN

target datalayout = "e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-f80:128-n8:16:32:64-S128"
target triple = "x86_64-pc-linux-gnu"

; CHECK-LABEL: define void @st(
; CHECK:       om.mark:
; CHECK:         [[P:%.*]] = getelementptr i8, i8* %om.dmap, i64 %om.page
; CHECK-NEXT:    %om.marked = load atomic i8, i8* [[P]] monotonic, align 1
; CHECK-NEXT:    [[Z:%.*]] = icmp eq i8 %om.marked, 0
; CHECK-NEXT:    br i1 [[Z]], label %[[SET:.*]], label
; CHECK:       [[SET]]:
; CHECK-NEXT:    store atomic i8 1, i8* [[P]] release, align 1
; PLAIN-LABEL: define void @st(
; PLAIN:       om.mark:
; PLAIN-NOT:     load atomic
; PLAIN:         store atomic i8 1, i8* %{{.*}} release, align 1
define void @st(i64* %p, i64 %x) {
  store i64 %x, i64* %p, align 8
  ret void
}
