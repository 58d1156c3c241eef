; Access checks before loads and stores: the sampled limit is 0 unless
; __om_track bit 1 is set; the present-map byte is read with acquire; an
; absent page calls __om_access_slow(addr, size, is_write) on a cold path.
; Constant data and private stack slots are not checked.
; RUN: %opt -passes='optmig<access;no-polls;no-version>' %s | FileCheck %s

target datalayout = "e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-f80:128-n8:16:32:64-S128"
target triple = "x86_64-pc-linux-gnu"

@table = constant [4 x i32] [i32 1, i32 2, i32 3, i32 4]
@counter = global i32 0

; CHECK-LABEL: define i32 @load_i32(
; CHECK-NEXT:    %om.base = load i64, i64* @__om_range_base, align 8
; CHECK-NEXT:    %om.pages = load i64, i64* @__om_range_pages, align 8
; CHECK-NEXT:    %om.track = load i32, i32* @__om_track, align 4
; CHECK-NEXT:    %om.bytes = shl i64 %om.pages, 12
; CHECK-NEXT:    [[BIT:%.*]] = and i32 %om.track, 2
; CHECK-NEXT:    %om.on = icmp ne i32 [[BIT]], 0
; CHECK-NEXT:    %om.alim = select i1 %om.on, i64 %om.bytes, i64 0
; CHECK-NEXT:    %om.pmap = load i8*, i8** @__om_present_map, align 8
; CHECK-NEXT:    %om.addr = ptrtoint i32* %p to i64
; CHECK-NEXT:    %om.off = sub i64 %om.addr, %om.base
; CHECK-NEXT:    %om.in = icmp ult i64 %om.off, %om.alim
; CHECK-NEXT:    br i1 %om.in, label %om.check, label %[[CONT:.*]], !prof ![[UNLIKELY:[0-9]+]]
; CHECK:       om.check:
; CHECK-NEXT:    %om.page = lshr i64 %om.off, 12
; CHECK-NEXT:    [[SLOT:%.*]] = getelementptr i8, i8* %om.pmap, i64 %om.page
; CHECK-NEXT:    %om.present = load atomic i8, i8* [[SLOT]] acquire, align 1
; CHECK-NEXT:    %om.absent = icmp eq i8 %om.present, 0
; CHECK-NEXT:    br i1 %om.absent, label %om.slow, label %{{.*}}, !prof ![[COLD:[0-9]+]]
; CHECK:       om.slow:
; CHECK-NEXT:    [[A0:%.*]] = ptrtoint i32* %p to i64
; CHECK-NEXT:    [[A:%.*]] = inttoptr i64 [[A0]] to i8*
; CHECK-NEXT:    call void @__om_access_slow(i8* [[A]], i64 4, i32 0)
; CHECK:       [[CONT]]:
; CHECK-NEXT:    %v = load i32, i32* %p, align 4
; CHECK-NEXT:    ret i32 %v
define i32 @load_i32(i32* %p) {
  %v = load i32, i32* %p, align 4
  ret i32 %v
}

; Stores are checked before they write (is_write = 1); no dirty code here.
; CHECK-LABEL: define void @store_i16(
; CHECK:         call void @__om_access_slow(i8* %{{.*}}, i64 2, i32 1)
; CHECK:         store i16 %v, i16* %p, align 2
; CHECK-NOT:     __om_dirty_map
; CHECK:         ret void
define void @store_i16(i16* %p, i16 %v) {
  store i16 %v, i16* %p, align 2
  ret void
}

; An unaligned vector load may cross: the page of its last byte is checked too.
; CHECK-LABEL: define <2 x i64> @load_vec(
; CHECK:         call void @__om_access_slow(i8* %{{.*}}, i64 16, i32 0)
; CHECK:         %om.off.last = add i64 %om.off, 15
; CHECK:         call void @__om_access_slow(i8* %{{.*}}, i64 16, i32 0)
; CHECK:         load <2 x i64>, <2 x i64>* %p, align 8
define <2 x i64> @load_vec(<2 x i64>* %p) {
  %v = load <2 x i64>, <2 x i64>* %p, align 8
  ret <2 x i64> %v
}

; Read-only data is present before any thread runs; writable globals are checked.
; CHECK-LABEL: define i32 @globals(
; CHECK-NOT:     ptrtoint i32* getelementptr {{.*}} @table
; CHECK:         sub i64 ptrtoint (i32* @counter to i64), %om.base
; CHECK:         call void @__om_access_slow(i8* bitcast (i32* @counter to i8*), i64 4, i32 0)
; CHECK:         load i32, i32* @counter
; CHECK:         ret i32
define i32 @globals(i64 %i) {
  %p = getelementptr [4 x i32], [4 x i32]* @table, i64 0, i64 %i
  %a = load i32, i32* %p, align 4
  %b = load i32, i32* @counter, align 4
  %s = add i32 %a, %b
  ret i32 %s
}

; CHECK-LABEL: define i32 @private_slot(
; CHECK-NOT:     __om_
; CHECK:         ret i32
define i32 @private_slot(i32 %x) {
  %slot = alloca i32, align 4
  store i32 %x, i32* %slot, align 4
  %v = load i32, i32* %slot, align 4
  ret i32 %v
}

; CHECK: ![[UNLIKELY]] = !{!"branch_weights", i32 1, i32 64}
; CHECK: ![[COLD]] = !{!"branch_weights", i32 1, i32 1048576}
