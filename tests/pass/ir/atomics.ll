; atomicrmw and cmpxchg are writes: checked before (as writes) and marked
; after; a cmpxchg marks only when it succeeded (a failed one wrote nothing).
; RUN: %opt -passes='optmig<dirty;access;no-polls>' %s | FileCheck %s

target datalayout = "e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-f80:128-n8:16:32:64-S128"
target triple = "x86_64-pc-linux-gnu"

; CHECK-LABEL: define i64 @rmw(
; CHECK:         %om.present = load atomic i8, i8* %{{.*}} acquire, align 1
; CHECK:         call void @__om_access_slow(i8* %{{.*}}, i64 8, i32 1)
; CHECK:         %old = atomicrmw add i64* %p, i64 %v seq_cst, align 8
; CHECK-NEXT:    %om.addr{{[0-9]*}} = ptrtoint i64* %p to i64
; CHECK:       om.mark:
; CHECK:         store atomic i8 1, i8* %{{.*}} release, align 1
; CHECK-NOT:     om.off.last
; CHECK:         ret i64 %old
define i64 @rmw(i64* %p, i64 %v) {
  %old = atomicrmw add i64* %p, i64 %v seq_cst, align 8
  ret i64 %old
}

; CHECK-LABEL: define i1 @cas(
; CHECK:         call void @__om_access_slow(i8* %{{.*}}, i64 4, i32 1)
; CHECK:         %r = cmpxchg i32* %p, i32 %e, i32 %d acq_rel monotonic, align 4
; CHECK-NEXT:    %om.cas.ok = extractvalue { i32, i1 } %r, 1
; CHECK:         %om.in{{[0-9]*}} = icmp ult i64 %om.off{{[0-9]*}}, %om.dlim
; CHECK-NEXT:    [[C:%.*]] = and i1 %om.in{{[0-9]*}}, %om.cas.ok
; CHECK-NEXT:    br i1 [[C]], label %om.mark, label
; CHECK:       om.mark:
; CHECK:         store atomic i8 1
; CHECK:         ret i1 %ok
define i1 @cas(i32* %p, i32 %e, i32 %d) {
  %r = cmpxchg i32* %p, i32 %e, i32 %d acq_rel monotonic, align 4
  %ok = extractvalue { i32, i1 } %r, 1
  ret i1 %ok
}

; An atomic store is a store; an atomic load is checked.
; CHECK-LABEL: define i32 @atomic_ld_st(
; CHECK:         call void @__om_access_slow(i8* %{{.*}}, i64 4, i32 1)
; CHECK:         store atomic i32 1, i32* %p release, align 4
; CHECK:         store atomic i8 1
; CHECK:         call void @__om_access_slow(i8* %{{.*}}, i64 4, i32 0)
; CHECK:         %v = load atomic i32, i32* %q acquire, align 4
; CHECK:         ret i32 %v
define i32 @atomic_ld_st(i32* %p, i32* %q) {
  store atomic i32 1, i32* %p release, align 4
  %v = load atomic i32, i32* %q acquire, align 4
  ret i32 %v
}
