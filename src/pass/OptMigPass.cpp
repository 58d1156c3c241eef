//===- OptMigPass.cpp - optmig: safepoint polls, dirty map, access checks -===//
//
// An LLVM 14 new-pass-manager plugin for enclave code built by omcc. It runs
// at the OptimizerLast extension point (and at -O0) and inserts
//
//   * safepoint polls:  if (volatile __om_poll) __om_safepoint();
//     at the entry of every function that makes calls and on every CFG
//     back-edge, the call on a cold path;
//   * dirty marks:      after every write into the enclave range,
//     __om_dirty_map[page] = 1 for the page of its first and last byte;
//   * access checks:    before every access into the range,
//     if (!__om_present_map[page]) __om_access_slow(addr, size, is_write);
//
// Everything is guarded by the runtime's __om_track word, sampled into
// registers at function entry and after every call (see docs/PASS.md for the
// protocol this relies on and for the cost-control choices).
//
//===----------------------------------------------------------------------===//

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Analysis/CFG.h"
#include "llvm/Analysis/CaptureTracking.h"
#include "llvm/Analysis/LoopInfo.h"
#include "llvm/Analysis/ScalarEvolution.h"
#include "llvm/Analysis/ScalarEvolutionExpressions.h"
#include "llvm/Analysis/ValueTracking.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/DiagnosticInfo.h"
#include "llvm/IR/Dominators.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/InlineAsm.h"
#include "llvm/IR/InstIterator.h"
#include "llvm/IR/IntrinsicInst.h"
#include "llvm/IR/MDBuilder.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/PassManager.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Passes/PassPlugin.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Transforms/Utils/BasicBlockUtils.h"
#include "llvm/Transforms/Utils/Cloning.h"
#include "llvm/Transforms/Utils/Local.h"
#include "llvm/Transforms/Utils/ModuleUtils.h"
#include "llvm/Transforms/Utils/PromoteMemToReg.h"

using namespace llvm;

namespace {

constexpr unsigned PageShift = 12;
constexpr uint64_t PageSize = uint64_t(1) << PageShift;

enum TrackMode : unsigned {
  TrackNone = 0,
  TrackDirty = 1,  // __om_track bit 0
  TrackAccess = 2, // __om_track bit 1
  TrackBoth = 3,
};

// Options. They are parsed by clang only when the plugin is also loaded with
// -Xclang -load -Xclang OptMigPass.so (clang 14 loads -fpass-plugin libraries
// after it has parsed -mllvm). opt also accepts optmig<...> parameters.
cl::opt<bool> ClPolls("optmig-polls", cl::init(true),
                      cl::desc("optmig: insert safepoint polls"));
cl::opt<TrackMode> ClTrack(
    "optmig-track", cl::init(TrackBoth),
    cl::desc("optmig: tracking code to insert"),
    cl::values(clEnumValN(TrackNone, "none", "no tracking"),
               clEnumValN(TrackDirty, "dirty", "dirty-page marks"),
               clEnumValN(TrackAccess, "access", "page-present checks"),
               clEnumValN(TrackBoth, "dirty+access", "marks and checks")));
cl::opt<bool> ClCost("optmig-opt", cl::init(true),
                     cl::desc("optmig: cost control (skip private stack "
                              "slots and constants, merge same-page checks, "
                              "hoist loop-invariant checks)"));
cl::opt<bool> ClVersion(
    "optmig-version", cl::init(true),
    cl::desc("optmig: keep an uninstrumented copy of each instrumented "
             "straight-line run, taken while tracking is off"));
cl::opt<bool> ClRecord(
    "optmig-record", cl::init(true),
    cl::desc("optmig: emit the module's mode record (off for the runtime's "
             "own instrumented code, which is not the app's)"));
cl::opt<bool> ClMarkTest(
    "optmig-mark-test", cl::init(false),
    cl::desc("optmig: store a dirty mark only if the byte is 0 (keeps map "
             "lines shared between threads; needs a collector that makes "
             "every thread pass a full barrier between clearing and copying, "
             "see docs/PASS.md)"));
cl::opt<bool> ClStats("optmig-stats", cl::init(false),
                      cl::desc("optmig: print instrumentation counts"));

struct Options {
  bool Polls = true;
  unsigned Track = TrackBoth;
  bool Cost = true;
  bool Version = true;
  bool MarkTest = false;
  bool Stats = false;

  static Options fromCommandLine() {
    Options O;
    O.Polls = ClPolls;
    O.Track = ClTrack;
    O.Cost = ClCost;
    O.Version = ClVersion;
    O.MarkTest = ClMarkTest;
    O.Stats = ClStats;
    return O;
  }
};

struct Stats {
  unsigned Functions = 0, Polls = 0, Checks = 0, Marks = 0, RangeCalls = 0;
  unsigned Merged = 0, Hoisted = 0, SkippedStack = 0, SkippedConst = 0;
  unsigned Versioned = 0;
};

// Bytes [Base+Lo, Base+Lo+Size) touched by one instruction or by a merged
// group, or [Base+Lo, Base+Lo+Len) for a memory intrinsic whose length is not
// a small constant.
struct Region {
  Value *Base = nullptr;
  int64_t Lo = 0;
  uint64_t Size = 0;
  Value *Len = nullptr; // i64; non-null: handled by a runtime call
  bool MayCross = true; // the bytes may lie in two pages
  bool IsWrite = false;
};

struct Access {
  Instruction *I;
  Value *Ptr; // the accessed address as the instruction has it
  Region R;
  bool Check; // presence check before I
  bool Mark;  // dirty mark after I
  bool Hoisted = false;
};

// The runtime ABI: globals and entry points defined by the trusted runtime.
struct Runtime {
  Type *I8, *I32, *I64;
  PointerType *I8Ptr;
  Constant *RangeBase, *RangePages, *DirtyMap, *PresentMap, *Track, *Poll;
  FunctionCallee Safepoint, AccessSlow, MarkRange;
  MDNode *Likely, *Unlikely, *Cold;

  explicit Runtime(Module &M) {
    LLVMContext &C = M.getContext();
    I8 = Type::getInt8Ty(C);
    I32 = Type::getInt32Ty(C);
    I64 = Type::getInt64Ty(C);
    I8Ptr = Type::getInt8PtrTy(C);
    Type *Void = Type::getVoidTy(C);
    // The runtime is linked into the same image: direct (PC-relative)
    // references, unless this is position-independent code for a DSO.
    bool Local = M.getPICLevel() == PICLevel::NotPIC ||
                 M.getPIELevel() != PIELevel::Default;
    auto Global = [&](StringRef Name, Type *Ty) {
      bool Existed = M.getNamedValue(Name);
      Constant *G = M.getOrInsertGlobal(Name, Ty);
      if (!Existed)
        Added.push_back(cast<GlobalValue>(G));
      if (auto *GV = dyn_cast<GlobalVariable>(G->stripPointerCasts()))
        if (Local && GV->isDeclaration())
          GV->setDSOLocal(true);
      return G;
    };
    RangeBase = Global("__om_range_base", I64);
    RangePages = Global("__om_range_pages", I64);
    DirtyMap = Global("__om_dirty_map", I8Ptr);
    PresentMap = Global("__om_present_map", I8Ptr);
    Track = Global("__om_track", I32);
    Poll = Global("__om_poll", I32);
    auto Fn = [&](StringRef Name, FunctionType *Ty, bool IsCold) {
      bool Existed = M.getNamedValue(Name);
      FunctionCallee FC = M.getOrInsertFunction(Name, Ty);
      if (!Existed)
        Added.push_back(cast<GlobalValue>(FC.getCallee()));
      if (auto *F = dyn_cast<Function>(FC.getCallee())) {
        F->addFnAttr(Attribute::NoUnwind);
        if (IsCold)
          F->addFnAttr(Attribute::Cold);
        if (Local && F->isDeclaration())
          F->setDSOLocal(true);
      }
      return FC;
    };
    Safepoint = Fn("__om_safepoint", FunctionType::get(Void, false), true);
    AccessSlow = Fn("__om_access_slow",
                    FunctionType::get(Void, {I8Ptr, I64, I32}, false), true);
    MarkRange = Fn("__om_mark_range",
                   FunctionType::get(Void, {I8Ptr, I64}, false), false);
    MDBuilder MDB(C);
    Likely = MDB.createBranchWeights(64, 1);
    Unlikely = MDB.createBranchWeights(1, 64);
    Cold = MDB.createBranchWeights(1, 1 << 20);
  }

  // Declarations this module did not have before and does not use.
  void dropUnused() {
    for (GlobalValue *GV : Added)
      if (GV->use_empty())
        GV->eraseFromParent();
    Added.clear();
  }

private:
  SmallVector<GlobalValue *, 9> Added;
};

bool isRuntimeName(StringRef Name) { return Name.startswith("__om_"); }

// One record per instrumented module in section om_cc_modes: the runtime
// ANDs them (om_cc_compiled) to learn what every pass-built module has.
constexpr uint32_t ModeMagic = 0x4f4d0000, ModePolls = 4;
void emitModeRecord(Module &M, const Options &Opt) {
  Type *I32 = Type::getInt32Ty(M.getContext());
  uint32_t V = ModeMagic | Opt.Track | (Opt.Polls ? ModePolls : 0);
  auto *G = new GlobalVariable(M, I32, true, GlobalValue::PrivateLinkage,
                               ConstantInt::get(I32, V), "__om_cc_mode");
  G->setSection("om_cc_modes");
  G->setAlignment(Align(4));
  appendToCompilerUsed(M, {G});
}

// Calls after which a thread may have been parked (and even migrated), so the
// sampled __om_track state is stale: everything but intrinsics and the two
// runtime helpers that never park. Inline asm counts (it may be a syscall).
bool isParkingPoint(const Instruction &I) {
  const auto *CB = dyn_cast<CallBase>(&I);
  if (!CB)
    return false;
  if (CB->isInlineAsm())
    return true;
  if (const Function *Callee = CB->getCalledFunction()) {
    if (Callee->isIntrinsic())
      return false;
    StringRef N = Callee->getName();
    if (N == "__om_mark_range" || N == "__om_access_slow")
      return false;
  }
  return true;
}

// Intrinsics that touch memory but need no tracking: stack bookkeeping,
// hints, or memory the pass handles elsewhere.
bool isHarmlessIntrinsic(Intrinsic::ID ID) {
  switch (ID) {
  case Intrinsic::lifetime_start:
  case Intrinsic::lifetime_end:
  case Intrinsic::invariant_start:
  case Intrinsic::invariant_end:
  case Intrinsic::launder_invariant_group:
  case Intrinsic::strip_invariant_group:
  case Intrinsic::assume:
  case Intrinsic::experimental_noalias_scope_decl:
  case Intrinsic::sideeffect:
  case Intrinsic::prefetch:
  case Intrinsic::objectsize:
  case Intrinsic::stacksave:
  case Intrinsic::stackrestore:
  case Intrinsic::vastart: // va_list objects live on the stack
  case Intrinsic::vaend:
  case Intrinsic::vacopy:
  case Intrinsic::trap:
  case Intrinsic::debugtrap:
  case Intrinsic::ubsantrap:
  case Intrinsic::var_annotation:
  case Intrinsic::ptr_annotation:
  case Intrinsic::annotation:
  case Intrinsic::pseudoprobe:
  case Intrinsic::dbg_declare:
  case Intrinsic::dbg_value:
  case Intrinsic::dbg_label:
  case Intrinsic::dbg_addr:
    return true;
  default:
    return false;
  }
}

class FunctionInstrumenter {
public:
  FunctionInstrumenter(Function &F, LoopInfo &LI, DominatorTree &DT,
                       ScalarEvolution &SE, Runtime &RT, const Options &Opt,
                       Stats &S)
      : F(F), DL(F.getParent()->getDataLayout()), LI(LI), DT(DT), SE(SE),
        RT(RT), Opt(Opt), S(S) {}

  bool run();

private:
  Function &F;
  const DataLayout &DL;
  LoopInfo &LI;
  DominatorTree &DT; // of the function as it was before instrumentation
  ScalarEvolution &SE;
  Runtime &RT;
  const Options &Opt;
  Stats &S;

  SmallVector<Access, 32> Accesses;
  DenseMap<const AllocaInst *, bool> PrivateAlloca;
  DenseMap<const Loop *, bool> LoopParks;

  // Instrumentation to emit, decided before the IR changes.
  SmallVector<std::pair<Instruction *, Region>, 32> Checks;  // before I
  SmallVector<std::pair<Instruction *, Region>, 32> Marks;   // after I
  SmallVector<std::pair<Instruction *, Region>, 8> CasMarks; // after cmpxchg
  struct LoopPlan {
    Instruction *PreheaderEnd = nullptr; // terminator of the entering block
    SmallVector<Region, 2> Regions;
  };
  MapVector<Loop *, LoopPlan> LoopChecks; // checks hoisted to a preheader
  SmallVector<std::pair<Instruction *, Loop *>, 8> PollSites; // before term
  SmallVector<std::pair<Instruction *, Loop *>, 8> Rechecks;  // poll paths

  // State sampled from the runtime, kept in allocas until mem2reg.
  Value *RangeBase = nullptr; // loaded once at entry
  AllocaInst *SlotAnyLim = nullptr, *SlotDirtyLim = nullptr,
             *SlotDirtyMap = nullptr, *SlotAccessLim = nullptr,
             *SlotPresentMap = nullptr;
  SmallVector<WeakTrackingVH, 16> SampleRoots;
  // Values of versioned runs (tracked copy) and their join phis.
  SmallVector<std::pair<Instruction *, PHINode *>, 32> Joins;
  // Instructions of the tracked copies, which run only while tracking is on.
  SmallPtrSet<Instruction *, 32> TrackedCopy;
  // Weight of "the address is in the range" for the code being emitted:
  // likely in a tracked copy (its tracking kind is on, and the heap is the
  // range), unlikely elsewhere (that code also runs while tracking is off).
  MDNode *InRange = nullptr;
  void emitAt(Instruction *I) {
    InRange = TrackedCopy.count(I) ? RT.Likely : RT.Unlikely;
  }

  bool dirty() const { return Opt.Track & TrackDirty; }
  bool access() const { return Opt.Track & TrackAccess; }

  void warn(const Instruction &I, const Twine &Msg) {
    F.getContext().diagnose(DiagnosticInfoUnsupported(
        F, "optmig: " + Msg, I.getDebugLoc(), DS_Warning));
  }

  // Analysis.
  void collect(Instruction &I);
  void addAccess(Instruction *I, Value *Ptr, uint64_t Size, Value *Len,
                 uint64_t Alignment, bool IsWrite);
  void addAccess(Instruction *I, Value *Ptr, Type *Ty, Align A, bool IsWrite);
  bool isPrivate(const Value *Ptr);
  bool isConstant(const Value *Ptr);
  bool loopParks(const Loop *L);
  void hoistInvariantChecks();
  void groupPerBlock();
  void planPolls();

  // Code generation.
  void insertPoll(Instruction *Before, Loop *L);
  void sampleAt(Instruction *Before);
  void sampleAfterCalls();
  Value *slot(IRBuilder<> &B, AllocaInst *A) {
    return B.CreateLoad(A->getAllocatedType(), A);
  }
  Value *addressOf(IRBuilder<> &B, const Region &R);
  Value *offsetOf(IRBuilder<> &B, const Region &R);
  Value *meetsRange(IRBuilder<> &B, Value *Addr, Value *Len, Value *Lim);
  void emitCheck(Instruction *Before, const Region &R);
  void checkPage(Instruction *Before, Value *Off, const Region &R,
                 Value *Len = nullptr);
  Instruction *splitShortLength(Instruction *Before, const Region &R,
                                Instruction *&Short);
  void emitMark(Instruction *Before, const Region &R, Value *Cond);
  void markPage(Instruction *Before, Value *Off, Value *Cond);
  void versionSegments();
  void joinVersionedValues();
  void promoteState();
};

bool FunctionInstrumenter::isPrivate(const Value *Ptr) {
  SmallVector<const Value *, 4> Objs;
  getUnderlyingObjects(Ptr, Objs);
  for (const Value *O : Objs) {
    const auto *AI = dyn_cast<AllocaInst>(O);
    if (!AI)
      return false;
    auto It = PrivateAlloca.find(AI);
    if (It == PrivateAlloca.end())
      It = PrivateAlloca
               .insert({AI, !PointerMayBeCaptured(AI, /*ReturnCaptures=*/true,
                                                  /*StoreCaptures=*/true)})
               .first;
    if (!It->second)
      return false;
  }
  return !Objs.empty();
}

// Read-only image data (and the runtime's own globals): present on the
// destination before any thread resumes.
bool FunctionInstrumenter::isConstant(const Value *Ptr) {
  SmallVector<const Value *, 4> Objs;
  getUnderlyingObjects(Ptr, Objs);
  for (const Value *O : Objs) {
    const auto *GV = dyn_cast<GlobalVariable>(O);
    if (!GV || !GV->isConstant())
      return false;
  }
  return !Objs.empty();
}

void FunctionInstrumenter::addAccess(Instruction *I, Value *Ptr, uint64_t Size,
                                     Value *Len, uint64_t Alignment,
                                     bool IsWrite) {
  if (!Ptr->getType()->isPointerTy() ||
      Ptr->getType()->getPointerAddressSpace() != 0)
    return; // segment-relative (fs/gs) or other address spaces: not flat
  const Value *Obj = getUnderlyingObject(Ptr);
  if (isa<GlobalVariable>(Obj) && isRuntimeName(Obj->getName()))
    return;
  if (Opt.Cost && isPrivate(Ptr)) {
    ++S.SkippedStack;
    return;
  }
  bool Check = access();
  if (Check && !IsWrite && Opt.Cost && isConstant(Ptr)) {
    Check = false;
    ++S.SkippedConst;
  }
  bool Mark = dirty() && IsWrite;
  if (!Check && !Mark)
    return;

  Access A{I, Ptr, Region(), Check, Mark};
  A.R.IsWrite = IsWrite;
  if (!Len && Size > PageSize)
    Len = ConstantInt::get(RT.I64, Size);
  if (Len) {
    A.R.Base = Ptr;
    A.R.Len = Len;
  } else {
    A.R.Base = GetPointerBaseWithConstantOffset(Ptr, A.R.Lo, DL);
    A.R.Size = Size;
    // An access of N bytes at an address aligned to A >= N (A <= 4096)
    // cannot cross a page boundary.
    A.R.MayCross = Size > std::min<uint64_t>(Alignment, PageSize);
  }
  Accesses.push_back(A);
}

void FunctionInstrumenter::addAccess(Instruction *I, Value *Ptr, Type *Ty,
                                     Align A, bool IsWrite) {
  TypeSize TS = DL.getTypeStoreSize(Ty);
  if (TS.isScalable()) {
    warn(*I, "scalable vector access is not tracked");
    return;
  }
  if (TS.getFixedSize() == 0)
    return;
  addAccess(I, Ptr, TS.getFixedSize(), nullptr, A.value(), IsWrite);
}

void FunctionInstrumenter::collect(Instruction &I) {
  if (auto *L = dyn_cast<LoadInst>(&I))
    return addAccess(&I, L->getPointerOperand(), L->getType(), L->getAlign(),
                     false);
  if (auto *St = dyn_cast<StoreInst>(&I))
    return addAccess(&I, St->getPointerOperand(),
                     St->getValueOperand()->getType(), St->getAlign(), true);
  if (auto *RMW = dyn_cast<AtomicRMWInst>(&I))
    return addAccess(&I, RMW->getPointerOperand(),
                     RMW->getValOperand()->getType(), RMW->getAlign(), true);
  if (auto *CX = dyn_cast<AtomicCmpXchgInst>(&I))
    return addAccess(&I, CX->getPointerOperand(),
                     CX->getCompareOperand()->getType(), CX->getAlign(), true);

  if (auto *MI = dyn_cast<AnyMemIntrinsic>(&I)) {
    Value *Len = MI->getLength();
    uint64_t Size = 0;
    if (auto *C = dyn_cast<ConstantInt>(Len)) {
      if (C->isZero())
        return;
      if (C->getValue().ule(PageSize)) {
        Size = C->getZExtValue();
        Len = nullptr;
      }
    }
    if (Len)
      Len = IRBuilder<>(&I).CreateZExtOrTrunc(Len, RT.I64);
    if (auto *MT = dyn_cast<AnyMemTransferInst>(MI))
      addAccess(&I, MT->getRawSource(), Size, Len,
                MT->getSourceAlign().valueOrOne().value(), false);
    addAccess(&I, MI->getRawDest(), Size, Len,
              MI->getDestAlign().valueOrOne().value(), true);
    return;
  }

  auto *II = dyn_cast<IntrinsicInst>(&I);
  if (!II)
    return; // calls: the callee is instrumented or the runtime covers it
  auto ConstAlign = [](Value *V) {
    auto *C = dyn_cast<ConstantInt>(V);
    return C && C->getZExtValue() ? Align(C->getZExtValue()) : Align(1);
  };
  switch (II->getIntrinsicID()) {
  case Intrinsic::masked_store: // (val, ptr, align, mask)
    // The whole vector's bytes: a masked-off lane may over-mark a page.
    return addAccess(&I, II->getArgOperand(1), II->getArgOperand(0)->getType(),
                     ConstAlign(II->getArgOperand(2)), true);
  case Intrinsic::masked_load: // (ptr, align, mask, passthru)
    return addAccess(&I, II->getArgOperand(0), II->getType(),
                     ConstAlign(II->getArgOperand(1)), false);
  case Intrinsic::masked_compressstore: // (val, ptr, mask)
    return addAccess(&I, II->getArgOperand(1), II->getArgOperand(0)->getType(),
                     Align(1), true);
  case Intrinsic::masked_expandload: // (ptr, mask, passthru)
    return addAccess(&I, II->getArgOperand(0), II->getType(), Align(1), false);
  case Intrinsic::masked_scatter:  // (vals, ptrs, align, mask)
  case Intrinsic::masked_gather: { // (ptrs, align, mask, passthru)
    bool IsWrite = II->getIntrinsicID() == Intrinsic::masked_scatter;
    unsigned P = IsWrite ? 1 : 0;
    Value *Ptrs = II->getArgOperand(P);
    Value *Mask = II->getArgOperand(P + 2);
    Align A = ConstAlign(II->getArgOperand(P + 1));
    auto *VT = dyn_cast<FixedVectorType>(
        IsWrite ? II->getArgOperand(0)->getType() : II->getType());
    if (!VT) {
      warn(I, "scalable scatter/gather is not tracked");
      return;
    }
    // One region per lane; a masked-off lane gets a null address, which is
    // outside the range.
    IRBuilder<> B(&I);
    for (unsigned L = 0; L < VT->getNumElements(); ++L) {
      Value *Ptr = B.CreateExtractElement(Ptrs, L);
      Value *On = B.CreateExtractElement(Mask, L);
      Ptr = B.CreateSelect(On, Ptr, Constant::getNullValue(Ptr->getType()));
      addAccess(&I, Ptr, VT->getElementType(), A, IsWrite);
    }
    return;
  }
  default:
    break;
  }
  if (II->doesNotAccessMemory() || II->onlyAccessesInaccessibleMemory() ||
      isHarmlessIntrinsic(II->getIntrinsicID()))
    return;
  for (Value *Arg : II->args())
    if (Arg->getType()->isPointerTy()) {
      warn(I, "intrinsic " + II->getCalledFunction()->getName() +
                  " accesses memory the pass does not track");
      return;
    }
}

bool FunctionInstrumenter::loopParks(const Loop *L) {
  auto It = LoopParks.find(L);
  if (It != LoopParks.end())
    return It->second;
  bool Parks = false;
  for (BasicBlock *BB : L->blocks())
    for (Instruction &I : *BB)
      Parks |= isParkingPoint(I);
  LoopParks[L] = Parks;
  return Parks;
}

// Merge a region into the hull of Groups[Key] if the hull stays within 4 KiB
// (so its first and last byte still cover every page it touches); otherwise
// flush the old group through Emit and start a new one.
template <typename KeyT, typename EmitT>
void mergeRegion(MapVector<KeyT, std::pair<Region, Instruction *>> &Groups,
                 KeyT Key, const Region &R, Instruction *I, Stats &S,
                 EmitT Emit) {
  auto It = Groups.find(Key);
  if (It != Groups.end()) {
    Region &G = It->second.first;
    int64_t Lo = std::min(G.Lo, R.Lo);
    int64_t Hi = std::max<int64_t>(G.Lo + G.Size, R.Lo + R.Size);
    if (uint64_t(Hi - Lo) <= PageSize) {
      // A hull equal to one member's bytes keeps that member's alignment
      // guarantee; a wider hull may cross a page.
      bool SameAsG = Lo == G.Lo && uint64_t(Hi - Lo) == G.Size;
      bool SameAsR = Lo == R.Lo && uint64_t(Hi - Lo) == R.Size;
      G.MayCross = SameAsG   ? (G.MayCross && (!SameAsR || R.MayCross))
                   : SameAsR ? R.MayCross
                             : true;
      G.Lo = Lo;
      G.Size = Hi - Lo;
      G.IsWrite |= R.IsWrite;
      It->second.second = I;
      ++S.Merged;
      return;
    }
    Emit(It->second);
    It->second = {R, I};
    return;
  }
  Groups.insert({Key, {R, I}});
}

// Access checks on a loop-invariant address move out of the outermost loop
// that keeps the address invariant, to the end of its one entering block
// (the preheader, or a block that may also branch elsewhere: a check run
// when the loop is skipped only fetches a page early, which is harmless).
// The loop must have no parking point other than our back-edge polls, whose
// cold paths redo the checks.
void FunctionInstrumenter::hoistInvariantChecks() {
  using Key = std::pair<Loop *, Value *>;
  MapVector<Key, std::pair<Region, Instruction *>> Groups;
  for (Access &A : Accesses) {
    if (!A.Check || A.R.Len)
      continue;
    Loop *Target = nullptr;
    for (Loop *L = LI.getLoopFor(A.I->getParent()); L; L = L->getParentLoop()) {
      BasicBlock *Pred = L->getLoopPredecessor();
      auto *BaseI = dyn_cast<Instruction>(A.R.Base);
      if (!Pred || loopParks(L) ||
          (BaseI && !DT.dominates(BaseI, Pred->getTerminator())))
        break;
      Target = L;
    }
    if (!Target)
      continue;
    A.Hoisted = true;
    ++S.Hoisted;
    mergeRegion(Groups, Key(Target, A.R.Base), A.R, A.I, S,
                [&](std::pair<Region, Instruction *> &G) {
                  LoopChecks[Target].Regions.push_back(G.first);
                });
  }
  for (auto &KV : Groups)
    LoopChecks[KV.first.first].Regions.push_back(KV.second.first);
  // Record the insertion points now: LoopInfo goes stale once blocks split.
  for (auto &LC : LoopChecks)
    LC.second.PreheaderEnd = LC.first->getLoopPredecessor()->getTerminator();
}

// Within a block, accesses whose addresses differ by a constant (as
// ScalarEvolution sees it: the same base pointer plus constant offsets, also
// across the copies an unrolled loop makes) and whose bytes fit in one 4 KiB
// hull share one check before the first of them and one mark after the last,
// both covering the hull's first and last byte. A parking point ends all
// groups: a mark must not wait across a safepoint, and a check must not be
// reused after one.
struct OpenGroup {
  const SCEV *Leader, *PtrBase;
  int64_t Lo, Hi; // bytes [Lo, Hi) relative to the leader's address
  bool MayCross, IsWrite;
  Instruction *First, *Last;
  Value *FirstPtr, *LastPtr;
  int64_t FirstRel, LastRel; // their addresses relative to the leader
};

void FunctionInstrumenter::groupPerBlock() {
  DenseMap<Instruction *, SmallVector<Access *, 2>> ByInst;
  for (Access &A : Accesses)
    ByInst[A.I].push_back(&A);

  auto HullRegion = [](const OpenGroup &G, bool AtLast) {
    Region R;
    R.Base = AtLast ? G.LastPtr : G.FirstPtr;
    R.Lo = G.Lo - (AtLast ? G.LastRel : G.FirstRel);
    R.Size = uint64_t(G.Hi - G.Lo);
    R.MayCross = G.MayCross;
    R.IsWrite = G.IsWrite;
    return R;
  };
  // Adds A to a compatible open group, or opens one (flushing any group
  // it could not join).
  auto Add = [&](SmallVectorImpl<OpenGroup> &Open, Access &A,
                 function_ref<void(OpenGroup &)> Flush) {
    const SCEV *Addr = SE.getSCEV(A.Ptr);
    const SCEV *PB = SE.getPointerBase(Addr);
    uint64_t Size = A.R.Size;
    for (OpenGroup &G : Open) {
      if (G.PtrBase != PB)
        continue;
      const auto *D = dyn_cast<SCEVConstant>(SE.getMinusSCEV(Addr, G.Leader));
      if (!D || D->getAPInt().getMinSignedBits() > 32)
        continue;
      int64_t Rel = D->getAPInt().getSExtValue();
      int64_t Lo = std::min(G.Lo, Rel);
      int64_t Hi = std::max<int64_t>(G.Hi, Rel + int64_t(Size));
      if (uint64_t(Hi - Lo) > PageSize) {
        Flush(G);
        G = {Addr,         PB,          0,   int64_t(Size),
             A.R.MayCross, A.R.IsWrite, A.I, A.I,
             A.Ptr,        A.Ptr,       0,   0};
        return;
      }
      // A hull equal to one member's bytes keeps that member's alignment
      // guarantee; a wider hull may cross a page.
      bool SameAsG = Lo == G.Lo && Hi == G.Hi;
      bool SameAsA = Lo == Rel && Hi == Rel + int64_t(Size);
      G.MayCross = SameAsG   ? (G.MayCross && (!SameAsA || A.R.MayCross))
                   : SameAsA ? A.R.MayCross
                             : true;
      G.Lo = Lo;
      G.Hi = Hi;
      G.IsWrite |= A.R.IsWrite;
      G.Last = A.I;
      G.LastPtr = A.Ptr;
      G.LastRel = Rel;
      ++S.Merged;
      return;
    }
    Open.push_back({Addr, PB, 0, int64_t(Size), A.R.MayCross, A.R.IsWrite, A.I,
                    A.I, A.Ptr, A.Ptr, 0, 0});
  };

  for (BasicBlock &BB : F) {
    SmallVector<OpenGroup, 8> OpenChecks, OpenMarks;
    auto FlushCheck = [&](OpenGroup &G) {
      Checks.push_back({G.First, HullRegion(G, false)});
    };
    auto FlushMark = [&](OpenGroup &G) {
      Marks.push_back({G.Last, HullRegion(G, true)});
    };
    auto FlushAll = [&]() {
      for (OpenGroup &G : OpenChecks)
        FlushCheck(G);
      for (OpenGroup &G : OpenMarks)
        FlushMark(G);
      OpenChecks.clear();
      OpenMarks.clear();
    };
    for (Instruction &I : BB) {
      if (isParkingPoint(I)) {
        FlushAll();
        continue;
      }
      auto It = ByInst.find(&I);
      if (It == ByInst.end())
        continue;
      for (Access *A : It->second) {
        bool Alone = A->R.Len || !Opt.Cost;
        if (A->Check && !A->Hoisted) {
          if (Alone)
            Checks.push_back({A->I, A->R});
          else
            Add(OpenChecks, *A, FlushCheck);
        }
        if (A->Mark) {
          if (isa<AtomicCmpXchgInst>(A->I))
            CasMarks.push_back({A->I, A->R});
          else if (Alone)
            Marks.push_back({A->I, A->R});
          else
            Add(OpenMarks, *A, FlushMark);
        }
      }
    }
    FlushAll();
  }
}

// Polls go on every CFG back-edge (so every cycle, reducible or not, has one)
// and at the entry of functions that make calls (so recursion has one).
void FunctionInstrumenter::planPolls() {
  if (!Opt.Polls)
    return;
  bool Calls = false;
  for (Instruction &I : instructions(F))
    Calls |= isParkingPoint(I) &&
             !isa<InlineAsm>(cast<CallBase>(I).getCalledOperand());
  if (Calls) {
    BasicBlock &Entry = F.getEntryBlock();
    auto It = Entry.getFirstInsertionPt();
    while (isa<AllocaInst>(*It))
      ++It;
    PollSites.push_back({&*It, nullptr});
  }
  SmallVector<std::pair<const BasicBlock *, const BasicBlock *>, 8> Edges;
  FindFunctionBackedges(F, Edges);
  SmallPtrSet<const BasicBlock *, 8> Seen;
  for (auto &E : Edges)
    if (Seen.insert(E.first).second) {
      BasicBlock *BB = const_cast<BasicBlock *>(E.first);
      PollSites.push_back({BB->getTerminator(), LI.getLoopFor(BB)});
    }
}

void FunctionInstrumenter::insertPoll(Instruction *Before, Loop *L) {
  IRBuilder<> B(Before);
  LoadInst *P = B.CreateLoad(RT.I32, RT.Poll, "om.poll");
  P->setVolatile(true);
  Instruction *Then = SplitBlockAndInsertIfThen(
      B.CreateICmpNE(P, B.getInt32(0), "om.polled"), Before, false, RT.Cold);
  Then->getParent()->setName("om.safepoint");
  CallInst::Create(RT.Safepoint, "", Then);
  for (; L; L = L->getParentLoop())
    if (LoopChecks.count(L))
      Rechecks.push_back({Then, L});
  ++S.Polls;
}

// The range itself never moves (the runtime fixes it before any instrumented
// code runs), so its base is loaded once, at entry, and stays invariant in
// every loop; the limits and maps are sampled again after each parking point.
void FunctionInstrumenter::sampleAt(Instruction *Before) {
  IRBuilder<> B(Before);
  if (!RangeBase) {
    RangeBase = B.CreateLoad(RT.I64, RT.RangeBase, "om.base");
    SampleRoots.push_back(RangeBase);
  }
  Value *Pages = B.CreateLoad(RT.I64, RT.RangePages, "om.pages");
  Value *Track = B.CreateLoad(RT.I32, RT.Track, "om.track");
  Value *Bytes = B.CreateShl(Pages, PageShift, "om.bytes");
  Value *Zero = B.getInt64(0);
  auto Limit = [&](unsigned Bit, AllocaInst *LimSlot, AllocaInst *MapSlot,
                   Constant *Map, const char *Name) {
    Value *On = B.CreateICmpNE(B.CreateAnd(Track, Bit), B.getInt32(0), "om.on");
    Value *Lim = B.CreateSelect(On, Bytes, Zero, Name);
    Value *M =
        B.CreateLoad(RT.I8Ptr, Map, Bit == TrackDirty ? "om.dmap" : "om.pmap");
    B.CreateStore(Lim, LimSlot);
    B.CreateStore(M, MapSlot);
    SampleRoots.push_back(Lim);
    SampleRoots.push_back(M);
  };
  if (SlotAnyLim) {
    Value *On = B.CreateICmpNE(B.CreateAnd(Track, Opt.Track), B.getInt32(0));
    Value *Any = B.CreateSelect(On, Bytes, Zero, "om.anylim");
    B.CreateStore(Any, SlotAnyLim);
    SampleRoots.push_back(Any);
  }
  if (dirty())
    Limit(TrackDirty, SlotDirtyLim, SlotDirtyMap, RT.DirtyMap, "om.dlim");
  if (access())
    Limit(TrackAccess, SlotAccessLim, SlotPresentMap, RT.PresentMap, "om.alim");
}

void FunctionInstrumenter::sampleAfterCalls() {
  SmallVector<Instruction *, 16> After;
  for (Instruction &I : instructions(F)) {
    if (!isParkingPoint(I))
      continue;
    if (auto *CI = dyn_cast<CallInst>(&I)) {
      if (!CI->isMustTailCall())
        After.push_back(CI->getNextNode());
    } else if (auto *II = dyn_cast<InvokeInst>(&I)) {
      After.push_back(&*II->getNormalDest()->getFirstInsertionPt());
      After.push_back(&*II->getUnwindDest()->getFirstInsertionPt());
    } else if (auto *CBr = dyn_cast<CallBrInst>(&I)) {
      for (BasicBlock *Succ : successors(CBr))
        After.push_back(&*Succ->getFirstInsertionPt());
    }
  }
  for (Instruction *I : After)
    sampleAt(I);
}

// The region's first byte minus the range base. For an address computed by a
// GEP, (GEP base - range base) is formed first, so that it stays loop-invariant
// when the GEP base is, and the variable part folds into an address mode.
Value *FunctionInstrumenter::offsetOf(IRBuilder<> &B, const Region &R) {
  auto *GEP = dyn_cast<GEPOperator>(R.Base);
  MapVector<Value *, APInt> Vars;
  APInt Const(64, 0);
  if (!GEP || GEP->getPointerOperandType()->isVectorTy() ||
      !GEP->collectOffset(DL, 64, Vars, Const) || Vars.size() > 2) {
    Value *Off =
        B.CreateSub(B.CreatePtrToInt(R.Base, RT.I64, "om.addr"), RangeBase);
    return R.Lo ? B.CreateAdd(Off, B.getInt64(R.Lo), "om.off")
                : (Off->setName("om.off"), Off);
  }
  Value *Off =
      B.CreateSub(B.CreatePtrToInt(GEP->getPointerOperand(), RT.I64, "om.addr"),
                  RangeBase, "om.rel");
  for (auto &V : Vars) {
    Value *Idx = B.CreateSExtOrTrunc(V.first, RT.I64);
    if (!V.second.isOne())
      Idx = B.CreateMul(Idx, B.getInt(V.second));
    Off = B.CreateAdd(Off, Idx);
  }
  int64_t C = Const.getSExtValue() + R.Lo;
  return C ? B.CreateAdd(Off, B.getInt64(C), "om.off")
           : (Off->setName("om.off"), Off);
}

Value *FunctionInstrumenter::addressOf(IRBuilder<> &B, const Region &R) {
  Value *A = B.CreatePtrToInt(R.Base, RT.I64, "om.addr");
  if (R.Lo)
    A = B.CreateAdd(A, ConstantInt::get(RT.I64, R.Lo, true), "om.addr");
  return A;
}

// [Addr, Addr+Len) meets [base, base+Lim): it starts inside, or starts below
// and reaches base. Lim is 0 when the tracking kind is off.
Value *FunctionInstrumenter::meetsRange(IRBuilder<> &B, Value *Addr, Value *Len,
                                        Value *Lim) {
  Value *Off = B.CreateSub(Addr, RangeBase, "om.off");
  Value *Starts = B.CreateICmpULT(Off, Lim);
  Value *Reaches = B.CreateAnd(B.CreateICmpNE(Lim, B.getInt64(0)),
                               B.CreateICmpULT(B.CreateNeg(Off), Len));
  return B.CreateAnd(B.CreateOr(Starts, Reaches),
                     B.CreateICmpNE(Len, B.getInt64(0)), "om.meets");
}

void FunctionInstrumenter::checkPage(Instruction *Before, Value *Off,
                                     const Region &R, Value *Len) {
  IRBuilder<> B(Before);
  Value *In = B.CreateICmpULT(Off, slot(B, SlotAccessLim), "om.in");
  Instruction *Then = SplitBlockAndInsertIfThen(In, Before, false, InRange);
  Then->getParent()->setName("om.check");
  B.SetInsertPoint(Then);
  Value *P = B.CreateGEP(RT.I8, slot(B, SlotPresentMap),
                         B.CreateLShr(Off, PageShift, "om.page"));
  LoadInst *Present = B.CreateLoad(RT.I8, P, "om.present");
  Present->setAtomic(AtomicOrdering::Acquire); // page bytes after the flag
  Present->setAlignment(Align(1));
  Instruction *Slow = SplitBlockAndInsertIfThen(
      B.CreateICmpEQ(Present, B.getInt8(0), "om.absent"), Then, false, RT.Cold);
  Slow->getParent()->setName("om.slow");
  B.SetInsertPoint(Slow);
  B.CreateCall(RT.AccessSlow, {B.CreateIntToPtr(addressOf(B, R), RT.I8Ptr),
                               Len ? Len : B.getInt64(R.Size),
                               B.getInt32(R.IsWrite)});
  ++S.Checks;
}

// A memory intrinsic of run-time length: 1..4096 bytes span at most two
// pages, checked or marked inline like a store (first and last byte's page);
// longer ones, or a constant length above 4 KiB, call the runtime if they meet
// the range (the copy itself then dwarfs the call). Length 0 does nothing.
// Returns where the long case goes; Short is where the short one goes, or
// null for a constant length (only the long case exists).
Instruction *FunctionInstrumenter::splitShortLength(Instruction *Before,
                                                    const Region &R,
                                                    Instruction *&Short) {
  Short = nullptr;
  if (isa<ConstantInt>(R.Len))
    return Before;
  IRBuilder<> B(Before);
  Value *IsShort = B.CreateICmpULT(B.CreateSub(R.Len, B.getInt64(1)),
                                   B.getInt64(PageSize), "om.short");
  Instruction *Long = nullptr;
  SplitBlockAndInsertIfThenElse(IsShort, Before, &Short, &Long);
  Short->getParent()->setName("om.len.short");
  Long->getParent()->setName("om.len.long");
  return Long;
}

void FunctionInstrumenter::emitCheck(Instruction *Before, const Region &R) {
  IRBuilder<> B(Before);
  if (R.Len) {
    Instruction *Short;
    Before = splitShortLength(Before, R, Short);
    if (Short) {
      B.SetInsertPoint(Short);
      Value *Off = B.CreateSub(addressOf(B, R), RangeBase, "om.off");
      checkPage(Short, Off, R, R.Len);
      B.SetInsertPoint(Short);
      checkPage(Short, B.CreateAdd(Off, B.CreateSub(R.Len, B.getInt64(1)),
                                   "om.off.last"),
                R, R.Len);
    }
    B.SetInsertPoint(Before);
    Value *Addr = addressOf(B, R);
    Value *On = meetsRange(B, Addr, R.Len, slot(B, SlotAccessLim));
    Instruction *Then = SplitBlockAndInsertIfThen(On, Before, false, InRange);
    Then->getParent()->setName("om.check.range");
    B.SetInsertPoint(Then);
    B.CreateCall(RT.AccessSlow, {B.CreateIntToPtr(Addr, RT.I8Ptr), R.Len,
                                 B.getInt32(R.IsWrite)});
    ++S.RangeCalls;
    return;
  }
  Value *Off = offsetOf(B, R);
  checkPage(Before, Off, R);
  if (R.MayCross) {
    B.SetInsertPoint(Before);
    checkPage(Before, B.CreateAdd(Off, B.getInt64(R.Size - 1), "om.off.last"),
              R);
  }
}

void FunctionInstrumenter::markPage(Instruction *Before, Value *Off,
                                    Value *Cond) {
  IRBuilder<> B(Before);
  Value *In = B.CreateICmpULT(Off, slot(B, SlotDirtyLim), "om.in");
  if (Cond)
    In = B.CreateAnd(In, Cond);
  Instruction *Then = SplitBlockAndInsertIfThen(In, Before, false, InRange);
  Then->getParent()->setName("om.mark");
  B.SetInsertPoint(Then);
  Value *P = B.CreateGEP(RT.I8, slot(B, SlotDirtyMap),
                         B.CreateLShr(Off, PageShift, "om.page"));
  if (Opt.MarkTest) {
    LoadInst *Old = B.CreateLoad(RT.I8, P, "om.marked");
    Old->setAtomic(AtomicOrdering::Monotonic);
    Old->setAlignment(Align(1));
    Instruction *Set = SplitBlockAndInsertIfThen(
        B.CreateICmpEQ(Old, B.getInt8(0)), Then, false, RT.Unlikely);
    B.SetInsertPoint(Set);
  }
  StoreInst *St = B.CreateStore(B.getInt8(1), P);
  St->setAtomic(AtomicOrdering::Release); // never before the data store
  St->setAlignment(Align(1));
  ++S.Marks;
}

void FunctionInstrumenter::emitMark(Instruction *After, const Region &R,
                                    Value *Cond) {
  Instruction *Before = After->getNextNode();
  IRBuilder<> B(Before);
  if (R.Len) {
    Instruction *Short;
    Before = splitShortLength(Before, R, Short);
    if (Short) {
      B.SetInsertPoint(Short);
      Value *Off = B.CreateSub(addressOf(B, R), RangeBase, "om.off");
      markPage(Short, Off, Cond);
      B.SetInsertPoint(Short);
      markPage(Short,
               B.CreateAdd(Off, B.CreateSub(R.Len, B.getInt64(1)),
                           "om.off.last"),
               Cond);
    }
    B.SetInsertPoint(Before);
    Value *Addr = addressOf(B, R);
    Value *On = meetsRange(B, Addr, R.Len, slot(B, SlotDirtyLim));
    Instruction *Then = SplitBlockAndInsertIfThen(On, Before, false, InRange);
    Then->getParent()->setName("om.mark.range");
    B.SetInsertPoint(Then);
    B.CreateCall(RT.MarkRange, {B.CreateIntToPtr(Addr, RT.I8Ptr), R.Len});
    ++S.RangeCalls;
    return;
  }
  Value *Off = offsetOf(B, R);
  markPage(Before, Off, Cond);
  if (R.MayCross) {
    B.SetInsertPoint(Before);
    markPage(Before, B.CreateAdd(Off, B.getInt64(R.Size - 1), "om.off.last"),
             Cond);
  }
}

static bool canDuplicate(const Instruction &I) {
  if (isa<AllocaInst>(I) || isa<PHINode>(I) || I.isEHPad() ||
      I.getType()->isTokenTy())
    return false;
  if (const auto *CB = dyn_cast<CallBase>(&I))
    return !CB->cannotDuplicate() && !CB->isConvergent();
  return true;
}

// Idle cost. Each straight run of instrumented code between parking points
// is duplicated before any check or mark is inserted; one test of the sampled
// limits (non-zero while any compiled-in tracking is on) picks the copy that
// gets instrumented, and the other copy stays plain. Tracking changes only at
// parking points, which end every run, so the choice holds for the whole run.
void FunctionInstrumenter::versionSegments() {
  SmallPtrSet<Instruction *, 32> Anchors;
  SetVector<BasicBlock *> Blocks;
  auto Anchor = [&](Instruction *I) {
    Anchors.insert(I);
    Blocks.insert(I->getParent());
  };
  for (auto &C : Checks)
    Anchor(C.first);
  for (auto &M : Marks)
    Anchor(M.first);
  for (auto &M : CasMarks)
    Anchor(M.first);

  SmallVector<std::pair<Instruction *, Instruction *>, 16> Runs;
  for (BasicBlock *BB : Blocks) {
    Instruction *First = nullptr, *Last = nullptr;
    auto Close = [&]() {
      if (First)
        Runs.push_back({First, Last});
      First = Last = nullptr;
    };
    for (Instruction &I : *BB) {
      if (I.isTerminator())
        break;
      if (isParkingPoint(I) || !canDuplicate(I)) {
        Close();
        continue;
      }
      if (Anchors.count(&I)) {
        if (!First)
          First = &I;
        Last = &I;
      }
    }
    Close();
  }

  for (auto &Run : Runs) {
    BasicBlock *Head = Run.first->getParent();
    BasicBlock *Tracked = SplitBlock(Head, Run.first, (DominatorTree *)nullptr,
                                     nullptr, nullptr, "om.tracked");
    BasicBlock *Tail =
        SplitBlock(Tracked, Run.second->getNextNode(), (DominatorTree *)nullptr,
                   nullptr, nullptr, "om.join");
    ValueToValueMapTy VM;
    BasicBlock *Plain = CloneBasicBlock(Tracked, VM, ".plain", &F);
    Plain->setName("om.plain");
    for (Instruction &I : *Plain)
      RemapInstruction(&I, VM,
                       RF_NoModuleLevelChanges | RF_IgnoreMissingLocals);
    Head->getTerminator()->eraseFromParent();
    IRBuilder<> B(Head);
    Value *On =
        B.CreateICmpNE(slot(B, SlotAnyLim), B.getInt64(0), "om.tracking");
    B.CreateCondBr(On, Tracked, Plain);
    // Every value the run defines gets a join phi now; which uses need it is
    // decided by joinVersionedValues once all instrumentation is in place.
    for (Instruction &I : *Tracked) {
      if (I.isTerminator() || I.getType()->isVoidTy())
        continue;
      PHINode *PN =
          PHINode::Create(I.getType(), 2, I.getName() + ".om", &Tail->front());
      PN->addIncoming(&I, Tracked);
      PN->addIncoming(VM[&I], Plain);
      Joins.push_back({&I, PN});
    }
    for (Instruction &I : *Tracked)
      TrackedCopy.insert(&I);
    ++S.Versioned;
  }
}

// A use of a value defined in a versioned run that the run's tracked copy
// does not dominate takes the join phi instead. This covers the program's own
// uses after the run and, above all, the instrumentation emitted after
// versioning from regions recorded before it: a check hoisted to a preheader
// or redone after a poll, or a check in a later run, whose address is
// computed from a value of an earlier run (the tracked copy reaches those
// points only on the tracking path).
void FunctionInstrumenter::joinVersionedValues() {
  DominatorTree NewDT(F);
  for (auto &J : Joins) {
    Instruction *I = J.first;
    PHINode *PN = J.second;
    SmallVector<Use *, 4> Late;
    for (Use &U : I->uses())
      if (U.getUser() != PN && !NewDT.dominates(I, U))
        Late.push_back(&U);
    for (Use *U : Late)
      U->set(PN);
    if (PN->use_empty())
      PN->eraseFromParent();
  }
  Joins.clear();
}

void FunctionInstrumenter::promoteState() {
  SmallVector<AllocaInst *, 5> Slots;
  for (AllocaInst *A :
       {SlotAnyLim, SlotDirtyLim, SlotDirtyMap, SlotAccessLim, SlotPresentMap})
    if (A)
      Slots.push_back(A);
  DominatorTree NewDT(F);
  PromoteMemToReg(Slots, NewDT);
  // Samples nobody reads (e.g. after a call that no access follows).
  for (WeakTrackingVH &V : SampleRoots)
    if (V)
      RecursivelyDeleteTriviallyDeadInstructions(V);
}

bool FunctionInstrumenter::run() {
  SmallVector<Instruction *, 64> Insts;
  for (Instruction &I : instructions(F))
    Insts.push_back(&I);
  if (Opt.Track != TrackNone)
    for (Instruction *I : Insts)
      collect(*I);
  if (Opt.Cost && access())
    hoistInvariantChecks();
  groupPerBlock();
  planPolls();
  bool Tracks = !Checks.empty() || !Marks.empty() || !CasMarks.empty() ||
                !LoopChecks.empty();
  if (!Tracks && PollSites.empty())
    return false;
  ++S.Functions;

  // Everything below changes the IR; decisions are made.
  for (auto &P : PollSites)
    insertPoll(P.first, P.second);
  if (!Tracks)
    return true;

  IRBuilder<> B(&*F.getEntryBlock().getFirstInsertionPt());
  if (Opt.Version)
    SlotAnyLim = B.CreateAlloca(RT.I64, nullptr, "om.anylim.slot");
  if (dirty()) {
    SlotDirtyLim = B.CreateAlloca(RT.I64, nullptr, "om.dlim.slot");
    SlotDirtyMap = B.CreateAlloca(RT.I8Ptr, nullptr, "om.dmap.slot");
  }
  if (access()) {
    SlotAccessLim = B.CreateAlloca(RT.I64, nullptr, "om.alim.slot");
    SlotPresentMap = B.CreateAlloca(RT.I8Ptr, nullptr, "om.pmap.slot");
  }
  if (Opt.Version)
    versionSegments();
  auto It = F.getEntryBlock().getFirstInsertionPt();
  while (isa<AllocaInst>(*It))
    ++It;
  sampleAt(&*It);
  sampleAfterCalls();

  for (auto &C : Checks) {
    emitAt(C.first);
    emitCheck(C.first, C.second);
  }
  for (auto &M : Marks) {
    emitAt(M.first);
    emitMark(M.first, M.second, nullptr);
  }
  for (auto &M : CasMarks) {
    emitAt(M.first);
    auto *Success = ExtractValueInst::Create(M.first, 1, "om.cas.ok",
                                             M.first->getNextNode());
    emitMark(Success, M.second, Success);
  }
  InRange = RT.Unlikely; // hoisted checks and their redos are not versioned
  for (auto &LC : LoopChecks)
    for (const Region &R : LC.second.Regions)
      emitCheck(LC.second.PreheaderEnd, R);
  for (auto &RC : Rechecks)
    for (const Region &R : LoopChecks[RC.second].Regions)
      emitCheck(RC.first, R);

  joinVersionedValues();
  promoteState();
  return true;
}

// Functions the pass must not touch: the runtime's own code (__om_ prefix),
// functions marked __attribute__((annotate("optmig_no_instrument"))), and
// naked functions.
SmallPtrSet<const Function *, 8> excludedByAnnotation(Module &M) {
  SmallPtrSet<const Function *, 8> Out;
  GlobalVariable *GA = M.getGlobalVariable("llvm.global.annotations");
  if (!GA || !GA->hasInitializer())
    return Out;
  auto *Arr = dyn_cast<ConstantArray>(GA->getInitializer());
  if (!Arr)
    return Out;
  for (Value *Op : Arr->operands()) {
    auto *CS = dyn_cast<ConstantStruct>(Op);
    if (!CS || CS->getNumOperands() < 2)
      continue;
    auto *Fn = dyn_cast<Function>(CS->getOperand(0)->stripPointerCasts());
    StringRef Note;
    if (Fn &&
        getConstantStringInfo(CS->getOperand(1)->stripPointerCasts(), Note) &&
        Note == "optmig_no_instrument")
      Out.insert(Fn);
  }
  return Out;
}

bool isExcluded(const Function &F,
                const SmallPtrSetImpl<const Function *> &Annotated) {
  return isRuntimeName(F.getName()) || F.hasFnAttribute(Attribute::Naked) ||
         Annotated.count(&F);
}

// At pipeline start: an excluded function must stay a function of its own,
// or inlining would put its body into instrumented code.
struct OptMigKeepExcludedPass : PassInfoMixin<OptMigKeepExcludedPass> {
  PreservedAnalyses run(Module &M, ModuleAnalysisManager &) {
    auto Annotated = excludedByAnnotation(M);
    bool Changed = false;
    for (Function &F : M) {
      if (F.isDeclaration() || !isExcluded(F, Annotated) ||
          F.hasFnAttribute(Attribute::NoInline))
        continue;
      if (F.hasFnAttribute(Attribute::AlwaysInline)) {
        F.getContext().diagnose(DiagnosticInfoUnsupported(
            F,
            "optmig: an always_inline function is instrumented where it "
            "is inlined",
            DiagnosticLocation(F.getSubprogram()), DS_Warning));
        continue;
      }
      F.addFnAttr(Attribute::NoInline);
      Changed = true;
    }
    return Changed ? PreservedAnalyses::none() : PreservedAnalyses::all();
  }
  static bool isRequired() { return true; }
};

AttributeMask memoryEffects() {
  AttributeMask AM;
  for (Attribute::AttrKind K :
       {Attribute::ReadNone, Attribute::ReadOnly, Attribute::WriteOnly,
        Attribute::ArgMemOnly, Attribute::InaccessibleMemOnly,
        Attribute::InaccessibleMemOrArgMemOnly, Attribute::NoSync,
        Attribute::Speculatable})
    AM.addAttribute(K);
  return AM;
}

struct OptMigPass : PassInfoMixin<OptMigPass> {
  Options Opt;
  explicit OptMigPass(Options O) : Opt(O) {}

  PreservedAnalyses run(Module &M, ModuleAnalysisManager &MAM) {
    if (!Opt.Polls && Opt.Track == TrackNone)
      return PreservedAnalyses::all();
    auto &FAM =
        MAM.getResult<FunctionAnalysisManagerModuleProxy>(M).getManager();
    auto Excluded = excludedByAnnotation(M);
    Runtime RT(M);
    Stats S;
    SmallVector<Function *, 16> Instrumented;
    for (Function &F : M) {
      if (F.isDeclaration() || isExcluded(F, Excluded))
        continue;
      LoopInfo &LI = FAM.getResult<LoopAnalysis>(F);
      DominatorTree &DT = FAM.getResult<DominatorTreeAnalysis>(F);
      ScalarEvolution &SE = FAM.getResult<ScalarEvolutionAnalysis>(F);
      if (FunctionInstrumenter(F, LI, DT, SE, RT, Opt, S).run()) {
        Instrumented.push_back(&F);
        FAM.invalidate(F, PreservedAnalyses::none());
      }
    }
    // Instrumented code calls into the runtime, which reads and writes
    // memory and synchronises: drop memory-effect attributes inferred
    // earlier, on the functions and on the calls to them.
    for (Function *F : Instrumented) {
      AttributeMask Effects = memoryEffects();
      F->removeFnAttrs(Effects);
      for (User *U : F->users())
        if (auto *CB = dyn_cast<CallBase>(U))
          if (CB->getCalledOperand() == F)
            CB->removeFnAttrs(Effects);
    }
    RT.dropUnused();
    if (ClRecord)
      emitModeRecord(M, Opt);
    if (Opt.Stats)
      errs() << "optmig: " << M.getSourceFileName() << ": functions "
             << S.Functions << ", polls " << S.Polls << ", page checks "
             << S.Checks << ", page marks " << S.Marks << ", range calls "
             << S.RangeCalls << ", merged " << S.Merged << ", hoisted "
             << S.Hoisted << ", skipped stack " << S.SkippedStack
             << ", skipped const " << S.SkippedConst << ", versioned "
             << S.Versioned << "\n";
    return PreservedAnalyses::none();
  }

  static bool isRequired() { return true; }
};

// optmig<polls;no-polls;none;dirty;access;opt;no-opt;version;no-version;
// mark-test;stats> for opt -passes=.
bool parsePipelineName(StringRef Name, Options &O) {
  if (Name == "optmig")
    return true;
  if (!Name.consume_front("optmig<") || !Name.consume_back(">"))
    return false;
  bool TrackGiven = false;
  unsigned Track = TrackNone;
  SmallVector<StringRef, 4> Params;
  Name.split(Params, ';', -1, false);
  for (StringRef P : Params) {
    if (P == "polls")
      O.Polls = true;
    else if (P == "no-polls")
      O.Polls = false;
    else if (P == "none")
      TrackGiven = true;
    else if (P == "dirty")
      Track |= TrackDirty, TrackGiven = true;
    else if (P == "access")
      Track |= TrackAccess, TrackGiven = true;
    else if (P == "opt")
      O.Cost = true;
    else if (P == "no-opt")
      O.Cost = false;
    else if (P == "stats")
      O.Stats = true;
    else if (P == "version")
      O.Version = true;
    else if (P == "no-version")
      O.Version = false;
    else if (P == "mark-test")
      O.MarkTest = true;
    else
      return false;
  }
  if (TrackGiven)
    O.Track = Track;
  return true;
}

} // namespace

extern "C" LLVM_ATTRIBUTE_WEAK PassPluginLibraryInfo llvmGetPassPluginInfo() {
  return {LLVM_PLUGIN_API_VERSION, "OptMigPass", "0.1", [](PassBuilder &PB) {
            PB.registerPipelineStartEPCallback(
                [](ModulePassManager &MPM, OptimizationLevel) {
                  MPM.addPass(OptMigKeepExcludedPass());
                });
            PB.registerOptimizerLastEPCallback(
                [](ModulePassManager &MPM, OptimizationLevel) {
                  MPM.addPass(OptMigPass(Options::fromCommandLine()));
                });
            PB.registerPipelineParsingCallback(
                [](StringRef Name, ModulePassManager &MPM,
                   ArrayRef<PassBuilder::PipelineElement>) {
                  Options O = Options::fromCommandLine();
                  if (!parsePipelineName(Name, O))
                    return false;
                  MPM.addPass(OptMigPass(O));
                  return true;
                });
          }};
}
