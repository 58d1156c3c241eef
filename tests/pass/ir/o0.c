// -O0: the pass is required, so it runs; clang's stack slots for parameters
// and locals stay uninstrumented; the store through p is marked; a function
// that calls polls at entry.
// RUN: %clang -O0 -S -emit-llvm -o - %s -mllvm -optmig-track=dirty -mllvm -optmig-version=false | FileCheck %s
// RUN: %clang -O0 -c -o /dev/null %s

void ext(int *);

// CHECK-LABEL: define{{.*}} void @set(
// CHECK:         load volatile i32, i32* @__om_poll
// CHECK:         call void @__om_safepoint()
// CHECK:         store i32* %0, i32** [[PSLOT:%[0-9]+]], align 8
// CHECK-NEXT:    store i32 %1, i32* [[VSLOT:%[0-9]+]], align 4
// CHECK-NEXT:    [[V:%[0-9]+]] = load i32, i32* [[VSLOT]], align 4
// CHECK-NEXT:    store i32 [[V]], i32* [[LSLOT:%[0-9]+]], align 4
// CHECK-NEXT:    [[L:%[0-9]+]] = load i32, i32* [[LSLOT]], align 4
// CHECK-NEXT:    [[P:%[0-9]+]] = load i32*, i32** [[PSLOT]], align 8
// CHECK-NEXT:    store i32 [[L]], i32* [[P]], align 4
// CHECK-NEXT:    ptrtoint i32* [[P]] to i64
// CHECK:         store atomic i8 1, i8* %{{.*}} release, align 1
// CHECK:         call void @ext(
// CHECK-NOT:     store atomic i8 1
// CHECK:         ret void
void set(int *p, int v)
{
    int local = v;
    *p = local;
    ext(p);
}
