; Dirty marks after stores: the sampled limit is 0 unless __om_track bit 0
; is set, one unsigned compare filters the range, the page's byte is set with
; a release store AFTER the data store; stores that may cross a page mark the
; page of their last byte too; private stack slots are left alone.
; RUN: %opt -passes='optmig<dirty;no-polls;no-version>' %s | FileCheck %s

target datalayout = "e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-f80:128-n8:16:32:64-S128"
target triple = "x86_64-pc-linux-gnu"

declare void @escape(i32*)
declare void @llvm.masked.store.v4i32.p0v4i32(<4 x i32>, <4 x i32>*, i32, <4 x i1>)

; CHECK-LABEL: define void @store_i32(
; CHECK-NEXT:  entry:
; CHECK-NEXT:    %om.base = load i64, i64* @__om_range_base, align 8
; CHECK-NEXT:    %om.pages = load i64, i64* @__om_range_pages, align 8
; CHECK-NEXT:    %om.track = load i32, i32* @__om_track, align 4
; CHECK-NEXT:    %om.bytes = shl i64 %om.pages, 12
; CHECK-NEXT:    [[BIT:%.*]] = and i32 %om.track, 1
; CHECK-NEXT:    %om.on = icmp ne i32 [[BIT]], 0
; CHECK-NEXT:    %om.dlim = select i1 %om.on, i64 %om.bytes, i64 0
; CHECK-NEXT:    %om.dmap = load i8*, i8** @__om_dirty_map, align 8
; CHECK-NEXT:    store i32 %v, i32* %p, align 4
; CHECK-NEXT:    %om.addr = ptrtoint i32* %p to i64
; CHECK-NEXT:    %om.off = sub i64 %om.addr, %om.base
; CHECK-NEXT:    %om.in = icmp ult i64 %om.off, %om.dlim
; CHECK-NEXT:    br i1 %om.in, label %om.mark, label %[[CONT:.*]], !prof ![[UNLIKELY:[0-9]+]]
; CHECK:       om.mark:
; CHECK-NEXT:    %om.page = lshr i64 %om.off, 12
; CHECK-NEXT:    [[SLOT:%.*]] = getelementptr i8, i8* %om.dmap, i64 %om.page
; CHECK-NEXT:    store atomic i8 1, i8* [[SLOT]] release, align 1
; CHECK-NEXT:    br label %[[CONT]]
; CHECK:       [[CONT]]:
; CHECK-NEXT:    ret void
define void @store_i32(i32* %p, i32 %v) {
entry:
  store i32 %v, i32* %p, align 4
  ret void
}

; An unaligned 8-byte store may cross a page: the page of byte 7 is marked too.
; CHECK-LABEL: define void @store_unaligned(
; CHECK:         store i64 %v, i64* %p, align 1
; CHECK:         %om.in = icmp ult i64 %om.off, %om.dlim
; CHECK:       om.mark:
; CHECK:         store atomic i8 1
; CHECK:         %om.off.last = add i64 %om.off, 7
; CHECK-NEXT:    [[IN2:%.*]] = icmp ult i64 %om.off.last, %om.dlim
; CHECK-NEXT:    br i1 [[IN2]], label %om.mark{{[0-9]+}}, label
; CHECK:         lshr i64 %om.off.last, 12
; CHECK:         store atomic i8 1
; CHECK:         ret void
define void @store_unaligned(i64* %p, i64 %v) {
  store i64 %v, i64* %p, align 1
  ret void
}

; A 16-byte vector store aligned to 16 stays in one page; aligned to 4 it may not.
; CHECK-LABEL: define void @store_vectors(
; CHECK:         store <4 x i32> %v, <4 x i32>* %a, align 16
; CHECK-NOT:     add i64 %om.off, 15
; CHECK:         store atomic i8 1
; CHECK:         store <4 x i32> %v, <4 x i32>* %u, align 4
; CHECK:         store atomic i8 1
; CHECK:         %om.off.last = add i64 %om.off{{[0-9]*}}, 15
; CHECK:         store atomic i8 1
; CHECK:         ret void
define void @store_vectors(<4 x i32>* %a, <4 x i32>* %u, <4 x i32> %v) {
  store <4 x i32> %v, <4 x i32>* %a, align 16
  store <4 x i32> %v, <4 x i32>* %u, align 4
  ret void
}

; A 32-byte vector store (split in two by codegen without AVX) is one region.
; CHECK-LABEL: define void @store_v8(
; CHECK:         store <8 x i32> %v, <8 x i32>* %p, align 1
; CHECK:         add i64 %om.off, 31
; CHECK:         ret void
define void @store_v8(<8 x i32>* %p, <8 x i32> %v) {
  store <8 x i32> %v, <8 x i32>* %p, align 1
  ret void
}

; A private stack slot is never instrumented; one whose address escapes is.
; CHECK-LABEL: define i32 @stack(
; CHECK:         store i32 1, i32* %private, align 4
; CHECK-NEXT:    store i32 2, i32* %escapes, align 4
; CHECK-NEXT:    %om.addr = ptrtoint i32* %escapes to i64
; CHECK:         store atomic i8 1
; CHECK:         call void @escape(i32* %escapes)
; CHECK-NOT:     store atomic i8 1
; CHECK:         ret i32
define i32 @stack() {
  %private = alloca i32, align 4
  %escapes = alloca i32, align 4
  store i32 1, i32* %private, align 4
  store i32 2, i32* %escapes, align 4
  call void @escape(i32* %escapes)
  %r = load i32, i32* %private, align 4
  ret i32 %r
}

; A masked vector store marks the bytes of the whole vector.
; CHECK-LABEL: define void @masked(
; CHECK:         call void @llvm.masked.store.v4i32.p0v4i32(
; CHECK:         %om.addr = ptrtoint <4 x i32>* %p to i64
; CHECK:         %om.off.last = add i64 %om.off, 15
; CHECK:         ret void
define void @masked(<4 x i32>* %p, <4 x i32> %v, <4 x i1> %m) {
  call void @llvm.masked.store.v4i32.p0v4i32(<4 x i32> %v, <4 x i32>* %p, i32 4, <4 x i1> %m)
  ret void
}

; Loads need no mark; without access checks nothing is inserted for them.
; CHECK-LABEL: define i32 @load_only(
; CHECK-NOT:     __om_
; CHECK:         ret i32
define i32 @load_only(i32* %p) {
  %v = load i32, i32* %p, align 4
  ret i32 %v
}

; CHECK: ![[UNLIKELY]] = !{!"branch_weights", i32 1, i32 64}
