; Safepoint polls: at the entry of functions that make calls, on every
; back-edge (also of a loop with two entries), never in runtime or excluded
; functions; off with no-polls.
; RUN: %opt -passes='optmig<none>' %s | FileCheck %s
; RUN: %opt -passes='optmig<none;no-polls>' %s | FileCheck %s --check-prefix=NOPOLL
; NOPOLL-NOT: __om_poll

target datalayout = "e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-f80:128-n8:16:32:64-S128"
target triple = "x86_64-pc-linux-gnu"

@.str = private unnamed_addr constant [21 x i8] c"optmig_no_instrument\00", section "llvm.metadata"
@.file = private unnamed_addr constant [4 x i8] c"t.c\00", section "llvm.metadata"
@llvm.global.annotations = appending global [1 x { i8*, i8*, i8*, i32, i8* }] [{ i8*, i8*, i8*, i32, i8* } { i8* bitcast (void ()* @excluded to i8*), i8* getelementptr inbounds ([21 x i8], [21 x i8]* @.str, i32 0, i32 0), i8* getelementptr inbounds ([4 x i8], [4 x i8]* @.file, i32 0, i32 0), i32 1, i8* null }], section "llvm.metadata"

declare void @ext()

; CHECK-LABEL: define void @caller(
; CHECK-NEXT:  entry:
; CHECK-NEXT:    %om.poll = load volatile i32, i32* @__om_poll, align 4
; CHECK-NEXT:    %om.polled = icmp ne i32 %om.poll, 0
; CHECK-NEXT:    br i1 %om.polled, label %om.safepoint, label %[[CONT:.*]], !prof ![[COLD:[0-9]+]]
; CHECK:       om.safepoint:
; CHECK-NEXT:    call void @__om_safepoint()
; CHECK-NEXT:    br label %[[CONT]]
; CHECK:       [[CONT]]:
; CHECK-NEXT:    call void @ext()
define void @caller() {
entry:
  call void @ext()
  ret void
}

; A leaf without loops runs for a bounded time: no poll.
; CHECK-LABEL: define i32 @leaf(
; CHECK-NOT:     __om_poll
; CHECK:         ret i32
define i32 @leaf(i32 %x) {
  %y = add i32 %x, 1
  ret i32 %y
}

; CHECK-LABEL: define void @loop(
; CHECK:       loop:
; CHECK:         %done = icmp eq i32 %i.next, %n
; CHECK-NEXT:    %om.poll = load volatile i32, i32* @__om_poll, align 4
; CHECK-NEXT:    %om.polled = icmp ne i32 %om.poll, 0
; CHECK-NEXT:    br i1 %om.polled, label %om.safepoint, label %[[CONT:.*]], !prof ![[COLD]]
; CHECK:       om.safepoint:
; CHECK-NEXT:    call void @__om_safepoint()
; CHECK:       [[CONT]]:
; CHECK-NEXT:    br i1 %done, label %exit, label %loop
; CHECK:       exit:
; CHECK-NEXT:    ret void
define void @loop(i32 %n) {
entry:
  br label %loop
loop:
  %i = phi i32 [ 0, %entry ], [ %i.next, %loop ]
  %i.next = add i32 %i, 1
  %done = icmp eq i32 %i.next, %n
  br i1 %done, label %exit, label %loop
exit:
  ret void
}

; A cycle with two entries (no natural loop): still one poll on the cycle.
; CHECK-LABEL: define void @irreducible(
; CHECK:       b:
; CHECK:         call void @__om_safepoint()
; CHECK-NOT:     call void @__om_safepoint()
; CHECK:       exit:
define void @irreducible(i1 %c, i32 %n) {
entry:
  br i1 %c, label %a, label %b
a:
  %x = phi i32 [ 0, %entry ], [ %y, %b ]
  %x1 = add i32 %x, 1
  br label %b
b:
  %y = phi i32 [ 5, %entry ], [ %x1, %a ]
  %stop = icmp sgt i32 %y, %n
  br i1 %stop, label %exit, label %a
exit:
  ret void
}

; The runtime's own functions and excluded ones are left alone.
; CHECK-LABEL: define void @__om_helper(
; CHECK-NOT:     __om_poll
; CHECK:       loop:
; CHECK-NEXT:    br label %loop
; CHECK-NEXT:  }
define void @__om_helper() {
entry:
  call void @ext()
  br label %loop
loop:
  br label %loop
}

; CHECK-LABEL: define void @excluded(
; CHECK-NOT:     __om_poll
; CHECK:         ret void
define void @excluded() {
  call void @ext()
  ret void
}

; CHECK: declare dso_local void @__om_safepoint() #[[ATTR:[0-9]+]]
; CHECK: attributes #[[ATTR]] = { cold nounwind }
; CHECK: ![[COLD]] = !{!"branch_weights", i32 1, i32 1048576}
