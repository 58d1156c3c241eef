; Loop-invariant addresses are checked once, before the loop, and again on
; the cold path of each back-edge poll of the loop (a thread may have been
; migrated at that safepoint). Dirty marks are never hoisted. A loop with a
; call keeps its checks inside.
; RUN: %opt -passes='optmig<dirty;access>' %s | FileCheck %s

target datalayout = "e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-f80:128-n8:16:32:64-S128"
target triple = "x86_64-pc-linux-gnu"

declare void @ext()

; CHECK-LABEL: define i64 @sum_invariant(
; CHECK:       entry:
; CHECK:         %om.addr{{[0-9]*}} = ptrtoint i64* %q to i64
; CHECK:         call void @__om_access_slow(i8* %{{.*}}, i64 8, i32 0)
; CHECK:         br i1 %nz, label %loop, label %exit
; CHECK:       loop:
; CHECK-NOT:     ptrtoint i64* %q
; CHECK:         %v = load i64, i64* %q, align 8
; CHECK-NOT:     ptrtoint i64* %q
; CHECK:         ptrtoint i64* %o to i64
; CHECK:         call void @__om_access_slow(i8* %{{.*}}, i64 8, i32 1)
; CHECK:         store i64 %s.next, i64* %o, align 8
; CHECK:         store atomic i8 1
; CHECK:         %om.poll = load volatile i32, i32* @__om_poll
; CHECK:       om.safepoint:
; CHECK-NEXT:    call void @__om_safepoint()
; CHECK:         %om.alim{{[0-9]+}} = select
; CHECK:         ptrtoint i64* %q to i64
; CHECK:         call void @__om_access_slow(i8* %{{.*}}, i64 8, i32 0)
; CHECK:         br i1 %done, label %exit, label %loop
; CHECK:       exit:
define i64 @sum_invariant(i64* %q, i64* %out, i64 %n) {
entry:
  %nz = icmp sgt i64 %n, 0
  br i1 %nz, label %loop, label %exit
loop:
  %i = phi i64 [ 0, %entry ], [ %i.next, %loop ]
  %s = phi i64 [ 0, %entry ], [ %s.next, %loop ]
  %v = load i64, i64* %q, align 8
  %s.next = add i64 %s, %v
  %o = getelementptr i64, i64* %out, i64 %i
  store i64 %s.next, i64* %o, align 8
  %i.next = add i64 %i, 1
  %done = icmp eq i64 %i.next, %n
  br i1 %done, label %exit, label %loop
exit:
  %r = phi i64 [ 0, %entry ], [ %s.next, %loop ]
  ret i64 %r
}

; A store to an invariant address is still marked on every iteration.
; CHECK-LABEL: define void @accumulate(
; CHECK:       loop:
; CHECK:         store i64 %a.next, i64* %acc, align 8
; CHECK-NEXT:    ptrtoint i64* %acc to i64
; CHECK:         store atomic i8 1
; CHECK:         br i1 %done, label %exit, label %loop
define void @accumulate(i64* %acc, i64 %n) {
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i.next, %loop ]
  %a = load i64, i64* %acc, align 8
  %a.next = add i64 %a, %i
  store i64 %a.next, i64* %acc, align 8
  %i.next = add i64 %i, 1
  %done = icmp eq i64 %i.next, %n
  br i1 %done, label %exit, label %loop
exit:
  ret void
}

; With a call in the loop, the check of %q stays in the loop, after the
; sample taken when the call returns.
; CHECK-LABEL: define i64 @with_call(
; CHECK:       entry:
; CHECK-NOT:     ptrtoint i64* %q
; CHECK:       loop:
; CHECK:         call void @ext()
; CHECK-NEXT:    %om.pages{{[0-9]+}} = load i64, i64* @__om_range_pages
; CHECK:         ptrtoint i64* %q to i64
; CHECK:         call void @__om_access_slow(i8* %{{.*}}, i64 8, i32 0)
; CHECK:         %v = load i64, i64* %q, align 8
define i64 @with_call(i64* %q, i64 %n) {
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i.next, %loop ]
  %s = phi i64 [ 0, %entry ], [ %s.next, %loop ]
  call void @ext()
  %v = load i64, i64* %q, align 8
  %s.next = add i64 %s, %v
  %i.next = add i64 %i, 1
  %done = icmp eq i64 %i.next, %n
  br i1 %done, label %exit, label %loop
exit:
  ret i64 %s.next
}
