// The arch contract: everything core/ may ask of an architecture back end.
// Arch code reads, encodes and writes instructions; it never decides which
// ops a site should call (core/ does). Core includes nothing else of arch/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "sled/sled.h"

// The per-arch sizes (kInsnSize, kSiteWindow, kStubSlotSize, kDynTrampSize,
// kCompiledLiteral, ...): constants, so core code sizes its buffers with them.
#if defined(__x86_64__)
#include "arch/x86_64/consts.h"
#elif defined(__aarch64__)
#include "arch/aarch64/consts.h"
#else
#error "sled supports x86_64 and aarch64"
#endif

namespace sled::arch {

// The compiler flags that produce the layout this back end expects.
extern const char *const kInstrumentFlags;

// What the bytes of a freshly found site say (site.cc).
struct SiteShape {
  uintptr_t entry = 0;           // function entry (= literal + 8)
  uintptr_t patch = 0;           // the live-toggled instruction
  bool landing_pad = false;      // endbr64 / bti c before the patch slot
  bool needs_normalize = false;  // compiled form must be rewritten once...
  uintptr_t normalize_at = 0;    // ...there, with encode_normalized()'s bytes
  int refusal = SLED_SITE_OK;
};
// `literal` is the address recorded in __patchable_function_entries and
// `bytes` the kSiteWindow bytes found there.
SiteShape classify_site(uintptr_t literal, const uint8_t *bytes);

// Pure encoders: bytes out, no side effects; tested against golden bytes.
void encode_nop(uint8_t out[kInsnSize]);
// What a site's needs_normalize instruction becomes (x86: the 5-byte NOP;
// aarch64: `mov x9, x30`), written while no thread can run it.
void encode_normalized(uint8_t out[kInsnSize]);
// False when target is out of the instruction's reach from patch.
bool encode_call(uintptr_t patch, uintptr_t target, uint8_t out[kInsnSize]);
bool call_reaches(uintptr_t from_lo, uintptr_t from_hi, uintptr_t target);
// An absolute jump placed at `at` (a near stub slot); returns its length.
size_t encode_stub_jump(uintptr_t at, uintptr_t target, uint8_t out[kStubSlotSize]);

// A generated per-ops trampoline: loads `descriptor` into r11 (x86) / x16
// (aarch64) and jumps to the shared body. kDynTrampSize bytes, padded.
void encode_dyntramp(uintptr_t at, uintptr_t descriptor, uintptr_t body,
                     uint8_t out[kDynTrampSize]);

// Protection bits for text after patching (adds PROT_BTI where needed).
int text_prot(int base_prot);
// Extra PROT_* bits the loader gave a module's executable segments, read
// from its program headers (aarch64: PROT_BTI for a BTI-marked module on a
// CPU with BTI; x86: none). Kept in the segment's prot, so every mprotect
// of its text keeps them (dropping PROT_BTI silently turns BTI off).
int module_text_prot_bits(uintptr_t bias, const void *phdrs, size_t phnum);

// One change of a live instruction: `old` must be there, `new_` goes in.
struct CodeWrite {
  uintptr_t addr;
  uint8_t old[kInsnSize];
  uint8_t new_[kInsnSize];
};
// The literal's aligned 8-byte accesses, single-copy atomic. Done in
// assembly so sanitizers never touch text pages (they have no shadow there).
// The store has release semantics, the load acquire.
void store_literal(uintptr_t literal, uintptr_t value);
uintptr_t load_literal(uintptr_t literal);

// Writes a batch into text already made writable, with the protocol that
// keeps every other thread correct while it runs (x86: whole-instruction
// atomic stores, or jmp-first steps, each pass followed by a sync; aarch64:
// word stores and one sync). 0 when every write is in place and every
// thread has serialised; a negative errno (a sync failed, or x86 found
// foreign bytes: -EIO) when the batch was undone: every site back to its old
// instruction, except x86 stepped sites whose tail was written, which skip
// the site (`jmp .+5`). Core stops patching after any failure. No traps, no
// signal handlers. Allocates nothing (it runs after a batch's first write).
int poke_live(std::span<const CodeWrite> writes);
// One site's instruction at a time, for a batch that stores each site's
// literal and call together (core/update_slim.cc) when every site of the
// batch takes a single atomic store. poke_one_ok: whether the site at
// `addr` does (x86: the whole forms of text_patch.cc; aarch64: always).
// poke_one: that store, no sync; -EIO when `old` is not there (x86 compares
// as it swaps; aarch64 does not compare, as poke_live). After the batch,
// sync_live() (membarrier SYNC_CORE) before the batch counts as done; on
// any failure the caller puts each write back with poke_one, as poke_live
// does. Allocate nothing.
bool poke_one_ok(uintptr_t addr);
int poke_one(const CodeWrite &w);
int sync_live();
// Writes into text that no thread can be executing (module load).
void poke_quiet(uintptr_t addr, const uint8_t *bytes, size_t len);
// One-time setup of the live protocol (membarrier registration).
// Idempotent; 0 or negative errno.
int live_patching_init();

// Graph ops. The return-value registers a return handler saved into a
// trampoline-shaped frame (graph.S): the two integer ones and the first
// vector one.
void graph_return_values(const sled_regs *frame, uintptr_t ints[2], unsigned char vec[16]);
// Whether the kernel enforces a hardware shadow stack for this thread (x86
// CET shstk, arm64 GCS): return addresses must not be rewritten then.
bool user_shadow_stack_active();

// Addresses of the assembly entry points.
uintptr_t callops_trampoline();
uintptr_t list_trampoline();
uintptr_t dyntramp_body();
// The callops trampoline that continues into the literal's direct
// trampoline (core/direct.h) instead of returning into the body.
uintptr_t direct_list_trampoline();

}  // namespace sled::arch
