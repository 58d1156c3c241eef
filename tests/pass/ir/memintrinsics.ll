; memcpy/memmove/memset: a small constant length is checked and marked inline
; like a store (source checked as a read, destination as a write, marks after
; the call); a run-time length of 1..4096 bytes is checked and marked inline
; at the pages of its first and last byte (the slow path gets the run-time
; length); a longer run-time or a > 4 KiB constant length calls
; __om_access_slow / __om_mark_range for the whole range when it meets the
; enclave range; a zero length needs nothing.
; RUN: %opt -passes='optmig<dirty;access;no-polls>' %s | FileCheck %s
; RUN: %opt -passes='optmig<dirty;no-polls>' %s | FileCheck %s --check-prefix=DIRTY

target datalayout = "e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-f80:128-n8:16:32:64-S128"
target triple = "x86_64-pc-linux-gnu"

declare void @llvm.memcpy.p0i8.p0i8.i64(i8* noalias nocapture writeonly, i8* noalias nocapture readonly, i64, i1 immarg)
declare void @llvm.memmove.p0i8.p0i8.i64(i8* nocapture writeonly, i8* nocapture readonly, i64, i1 immarg)
declare void @llvm.memset.p0i8.i64(i8* nocapture writeonly, i8, i64, i1 immarg)

; CHECK-LABEL: define void @copy24(
; CHECK:         %om.addr = ptrtoint i8* %s to i64
; CHECK:         call void @__om_access_slow(i8* %{{.*}}, i64 24, i32 0)
; CHECK:         %om.off.last = add i64 %om.off, 23
; CHECK:         call void @__om_access_slow(i8* %{{.*}}, i64 24, i32 0)
; CHECK:         ptrtoint i8* %d to i64
; CHECK:         call void @__om_access_slow(i8* %{{.*}}, i64 24, i32 1)
; CHECK:         call void @__om_access_slow(i8* %{{.*}}, i64 24, i32 1)
; CHECK:         call void @llvm.memcpy.p0i8.p0i8.i64(i8* align 8 %d, i8* align 8 %s, i64 24, i1 false)
; CHECK-NEXT:    ptrtoint i8* %d to i64
; CHECK:       om.mark:
; CHECK:         store atomic i8 1
; CHECK:         add i64 %{{.*}}, 23
; CHECK:         store atomic i8 1
; CHECK:         ret void
; DIRTY-LABEL: define void @copy24(
; DIRTY-NOT:     __om_access_slow
; DIRTY:         call void @llvm.memcpy.p0i8.p0i8.i64(
; DIRTY:         store atomic i8 1
; DIRTY:         store atomic i8 1
; DIRTY:         ret void
define void @copy24(i8* %d, i8* %s) {
  call void @llvm.memcpy.p0i8.p0i8.i64(i8* align 8 %d, i8* align 8 %s, i64 24, i1 false)
  ret void
}

; CHECK-LABEL: define void @set_var(
; CHECK:         [[LM1:%.*]] = sub i64 %n, 1
; CHECK-NEXT:    %om.short = icmp ult i64 [[LM1]], 4096
; CHECK-NEXT:    br i1 %om.short, label %om.len.short, label %om.len.long
; CHECK:       om.len.short:
; CHECK-NEXT:    %om.addr = ptrtoint i8* %d to i64
; CHECK-NEXT:    %om.off = sub i64 %om.addr, %om.base
; CHECK-NEXT:    %om.in = icmp ult i64 %om.off, %om.alim
; CHECK:         load atomic i8, i8* %{{.*}} acquire
; CHECK:         call void @__om_access_slow(i8* %{{.*}}, i64 %n, i32 1)
; CHECK:         [[LM2:%.*]] = sub i64 %n, 1
; CHECK-NEXT:    %om.off.last = add i64 %om.off, [[LM2]]
; CHECK-NEXT:    icmp ult i64 %om.off.last, %om.alim
; CHECK:         call void @__om_access_slow(i8* %{{.*}}, i64 %n, i32 1)
; CHECK:       om.len.long:
; CHECK-NEXT:    [[ADDR:%.*]] = ptrtoint i8* %d to i64
; CHECK-NEXT:    [[OFF:%.*]] = sub i64 [[ADDR]], %om.base
; CHECK-NEXT:    [[STARTS:%.*]] = icmp ult i64 [[OFF]], %om.alim
; CHECK-NEXT:    [[ON:%.*]] = icmp ne i64 %om.alim, 0
; CHECK-NEXT:    [[NEG:%.*]] = sub i64 0, [[OFF]]
; CHECK-NEXT:    [[REACH:%.*]] = icmp ult i64 [[NEG]], %n
; CHECK-NEXT:    [[R:%.*]] = and i1 [[ON]], [[REACH]]
; CHECK-NEXT:    [[MEET:%.*]] = or i1 [[STARTS]], [[R]]
; CHECK-NEXT:    [[NZ:%.*]] = icmp ne i64 %n, 0
; CHECK-NEXT:    %om.meets = and i1 [[MEET]], [[NZ]]
; CHECK-NEXT:    br i1 %om.meets, label %om.check.range, label
; CHECK:       om.check.range:
; CHECK-NEXT:    [[P:%.*]] = inttoptr i64 [[ADDR]] to i8*
; CHECK-NEXT:    call void @__om_access_slow(i8* [[P]], i64 %n, i32 1)
; CHECK:         call void @llvm.memset.p0i8.i64(i8* %d, i8 0, i64 %n, i1 false)
; CHECK:         %om.short{{[0-9]+}} = icmp ult i64 %{{.*}}, 4096
; CHECK:       om.mark:
; CHECK:         store atomic i8 1
; CHECK:       om.mark{{[0-9]+}}:
; CHECK:         store atomic i8 1
; CHECK:         icmp ult i64 %{{.*}}, %om.dlim
; CHECK:       om.mark.range:
; CHECK-NEXT:    [[Q:%.*]] = inttoptr i64 %{{.*}} to i8*
; CHECK-NEXT:    call void @__om_mark_range(i8* [[Q]], i64 %n)
; CHECK:         ret void
define void @set_var(i8* %d, i64 %n) {
  call void @llvm.memset.p0i8.i64(i8* %d, i8 0, i64 %n, i1 false)
  ret void
}

; CHECK-LABEL: define void @move_big(
; CHECK-NOT:     om.short
; CHECK:         call void @__om_access_slow(i8* %{{.*}}, i64 8192, i32 0)
; CHECK:         call void @__om_access_slow(i8* %{{.*}}, i64 8192, i32 1)
; CHECK:         call void @llvm.memmove.p0i8.p0i8.i64(i8* %d, i8* %s, i64 8192, i1 false)
; CHECK:         call void @__om_mark_range(i8* %{{.*}}, i64 8192)
; CHECK:         ret void
define void @move_big(i8* %d, i8* %s) {
  call void @llvm.memmove.p0i8.p0i8.i64(i8* %d, i8* %s, i64 8192, i1 false)
  ret void
}

; CHECK-LABEL: define void @set_zero(
; CHECK-NEXT:    call void @llvm.memset.p0i8.i64(i8* %d, i8 0, i64 0, i1 false)
; CHECK-NEXT:    ret void
define void @set_zero(i8* %d) {
  call void @llvm.memset.p0i8.i64(i8* %d, i8 0, i64 0, i1 false)
  ret void
}
