// The plugin's options through clang 14: -fpass-plugin runs the pass at the
// OptimizerLast extension point; its cl::opt options are only known to clang
// when the plugin is also loaded with -Xclang -load -Xclang (before -mllvm is
// parsed). %clang passes both.
// RUN: %clang -O2 -S -emit-llvm -o - %s | FileCheck %s --check-prefixes=POLL,DIRTY,ACCESS
// RUN: %clang -O2 -S -emit-llvm -o - %s -mllvm -optmig-track=dirty | FileCheck %s --check-prefixes=POLL,DIRTY,NOACCESS
// RUN: %clang -O3 -S -emit-llvm -o - %s -mllvm -optmig-track=access | FileCheck %s --check-prefixes=POLL,NODIRTY,ACCESS
// RUN: %clang -O1 -S -emit-llvm -o - %s -mllvm -optmig-track=none -mllvm -optmig-polls=false | FileCheck %s --check-prefix=NONE
// RUN: %clang -Os -S -emit-llvm -o - %s -mllvm -optmig-track=dirty+access -mllvm -optmig-polls=false | FileCheck %s --check-prefixes=NOPOLL,DIRTY,ACCESS
// RUN: %clang -O2 -S -o /dev/null %s -mllvm -optmig-stats 2>&1 | FileCheck %s --check-prefix=STATS
// Without -Xclang -load the options are unknown to clang 14:
// RUN: { clang-14 -O2 -fpass-plugin=%plugin -mllvm -optmig-track=dirty -S -o /dev/null %s 2>&1 || true; } | FileCheck %s --check-prefix=NOLOAD

// NOLOAD: Unknown command line argument '-optmig-track=dirty'
// STATS: optmig: {{.*}}modes.c: functions 1, polls {{[1-9]}}, page checks {{[1-9]}}

// POLL-DAG: load volatile i32, i32* @__om_poll
// NOPOLL-NOT: @__om_poll
// DIRTY-DAG: store atomic i8 1
// NODIRTY-NOT: @__om_dirty_map
// ACCESS-DAG: call void @__om_access_slow
// NOACCESS-NOT: @__om_present_map
// NONE-NOT: @__om_
void scale(long *a, long n, long k)
{
    for (long i = 0; i < n; i++)
        a[i] *= k;
}
