; Regression: plain copies with instrumentation emitted after versioning.
; Checks and marks are planned (as regions naming IR values) before the runs
; are duplicated, and some are emitted outside the run that defines their
; address: a check hoisted to the loop's entering block, its redo on the
; poll's cold path, a check in a later run after a call. Those must use the
; run's join phi, not its tracked copy, or the IR breaks dominance ("Instruction
; does not dominate all uses", first seen on src/trt/heap.c).
; opt-14 verifies its output module, so each RUN line also fails on bad IR.
; RUN: %opt -passes='optmig<dirty;access>' %s | FileCheck %s
; RUN: %opt -passes='optmig<dirty;access;no-polls>' %s | FileCheck %s --check-prefix=NOPOLL
; RUN: %opt -passes='optmig<access>' %s -o /dev/null
; RUN: %opt -passes='optmig<dirty>' %s -o /dev/null

target datalayout = "e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-f80:128-n8:16:32:64-S128"
target triple = "x86_64-pc-linux-gnu"

declare void @ext()

; %p and %q are defined in the first run (%q lies between its two anchors);
; the store after the call has region %q = %p + 8*%i, whose offset is
; computed from %p: it must be the join phi %p.om.
; CHECK-LABEL: define void @later(
; CHECK:       om.tracked:
; CHECK:         %p = load i64*, i64** %pp
; CHECK:       om.join:
; CHECK-NEXT:    %q.om = phi i64* [ %q, %{{.*}} ], [ %q.plain, %om.plain ]
; CHECK-NEXT:    %p.om = phi i64* [ %p, %{{.*}} ], [ %p.plain, %om.plain ]
; CHECK-NEXT:    call void @ext()
; CHECK:       om.tracked{{[0-9]+}}:
; CHECK-NEXT:    ptrtoint i64* %p.om to i64
; CHECK-NOT:     ptrtoint i64* %p to i64
; CHECK:         store i64 %x, i64* %q.om
; CHECK-NEXT:    ptrtoint i64* %p.om to i64
; CHECK:       om.plain:
; CHECK-NEXT:    %p.plain = load i64*, i64** %pp
define void @later(i64** %pp, i64 %i, i64 %x) {
  %p = load i64*, i64** %pp, align 8
  %q = getelementptr inbounds i64, i64* %p, i64 %i
  store i64 %x, i64* %p, align 8
  call void @ext()
  store i64 %x, i64* %q, align 8
  ret void
}

; The loop's load of %p is invariant: its check moves to the end of the entry
; block, which holds a versioned run that defines %p.
; CHECK-LABEL: define i64 @hoist(
; CHECK:       om.join:
; CHECK-NEXT:    %p.om = phi i64* [ %p, %{{.*}} ], [ %p.plain, %om.plain ]
; CHECK-NEXT:    ptrtoint i64* %p.om to i64
; CHECK:       loop:
; CHECK:         load i64, i64* %p.om
; CHECK:       om.safepoint:
; CHECK-NEXT:    call void @__om_safepoint()
; CHECK:         ptrtoint i64* %p.om to i64
; CHECK:         call void @__om_access_slow(
; NOPOLL-LABEL: define i64 @hoist(
; NOPOLL:       om.join:
; NOPOLL-NEXT:    %p.om = phi i64* [ %p, %{{.*}} ], [ %p.plain, %om.plain ]
; NOPOLL-NEXT:    ptrtoint i64* %p.om to i64
define i64 @hoist(i64** %pp, i64 %n) {
entry:
  %p = load i64*, i64** %pp, align 8
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %i1, %loop ]
  %s = phi i64 [ 0, %entry ], [ %s1, %loop ]
  %v = load i64, i64* %p, align 8
  %s1 = add i64 %s, %v
  %i1 = add i64 %i, 1
  %c = icmp ult i64 %i1, %n
  br i1 %c, label %loop, label %exit
exit:
  ret i64 %s1
}

; A value of the run that nothing outside it uses gets no join phi.
; CHECK-LABEL: define void @local(
; CHECK-NOT:     phi
; CHECK:         ret void
define void @local(i64* %p, i64 %x) {
  %v = load i64, i64* %p, align 8
  %w = add i64 %v, %x
  store i64 %w, i64* %p, align 8
  ret void
}
