// Reads a module's DWARF with libdw: every DW_TAG_subprogram that has code
// (a low_pc), its declaration's file and line, its formal parameters and
// its return type, resolved through typedefs and qualifiers into TypeDesc.
// The DWARF is the module file's own or, when it has none, the separate
// debug file /usr/lib/debug/.build-id/xx/yyyy.debug named by its build-id.
// A module without either yields no functions (callers print raw values).
#include "debug_info.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace sled::cli {
namespace {

constexpr int kMaxTypeDepth = 4;  // records inside records: enough for arguments

const char *name_of(Dwarf_Die *die) {
  Dwarf_Attribute a;
  const char *n = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &a));
  return n ? n : "";
}

// The DIE an attribute (through abstract_origin/specification) refers to.
bool ref_of(Dwarf_Die *die, unsigned attr, Dwarf_Die *out) {
  Dwarf_Attribute a;
  return dwarf_attr_integrate(die, attr, &a) && dwarf_formref_die(&a, out);
}

bool udata_of(Dwarf_Die *die, unsigned attr, Dwarf_Word *out) {
  Dwarf_Attribute a;
  return dwarf_attr_integrate(die, attr, &a) && dwarf_formudata(&a, out) == 0;
}

void describe(Dwarf_Die *type, int depth, TypeDesc *out);

// `die` has a DW_AT_type (or none: void).
void describe_type_of(Dwarf_Die *die, int depth, TypeDesc *out) {
  Dwarf_Die t;
  if (!ref_of(die, DW_AT_type, &t)) {
    out->kind = TypeDesc::void_;
    out->name = "void";
    return;
  }
  describe(&t, depth, out);
}

void describe_record(Dwarf_Die *type, int depth, TypeDesc *out) {
  Dwarf_Word cc;
  // A C++ class that is not trivially copyable is passed by invisible
  // reference (DWARF 5 says so on the type): an address in a register.
  if (udata_of(type, DW_AT_calling_convention, &cc) && cc == DW_CC_pass_by_reference) {
    out->kind = TypeDesc::pointer;
    out->size = 8;
    return;
  }
  if (depth >= kMaxTypeDepth) return;  // unknown, with its size
  Dwarf_Die child;
  if (dwarf_child(type, &child) != 0) return;
  do {
    int tag = dwarf_tag(&child);
    if (tag != DW_TAG_member && tag != DW_TAG_inheritance) continue;
    if (dwarf_hasattr(&child, DW_AT_declaration)) continue;  // static member
    TypeDesc::Member m;
    m.name = tag == DW_TAG_inheritance ? "" : name_of(&child);
    Dwarf_Word off = 0;
    udata_of(&child, DW_AT_data_member_location, &off);  // a union's members have none: 0
    m.offset = off;
    m.bitfield = dwarf_hasattr(&child, DW_AT_bit_size);
    m.type = std::make_shared<TypeDesc>();
    describe_type_of(&child, depth + 1, m.type.get());
    out->members.push_back(std::move(m));
  } while (dwarf_siblingof(&child, &child) == 0);
}

void describe(Dwarf_Die *type, int depth, TypeDesc *out) {
  Dwarf_Die cur = *type;
  for (int hops = 0; hops < 16; hops++) {
    int tag = dwarf_tag(&cur);
    if (tag == DW_TAG_typedef || tag == DW_TAG_const_type || tag == DW_TAG_volatile_type ||
        tag == DW_TAG_restrict_type || tag == DW_TAG_atomic_type) {
      if (out->name.empty() && tag == DW_TAG_typedef) out->name = name_of(&cur);
      Dwarf_Die next;
      if (!ref_of(&cur, DW_AT_type, &next)) {
        out->kind = TypeDesc::void_;  // const void (behind a pointer only)
        return;
      }
      cur = next;
      continue;
    }
    if (out->name.empty()) out->name = name_of(&cur);
    Dwarf_Word size = 0;
    if (dwarf_aggregate_size(&cur, &size) == 0) out->size = size;
    switch (tag) {
      case DW_TAG_base_type: {
        Dwarf_Word enc = 0;
        udata_of(&cur, DW_AT_encoding, &enc);
        switch (enc) {
          case DW_ATE_boolean:
            out->kind = TypeDesc::boolean;
            break;
          case DW_ATE_float:
          case DW_ATE_complex_float:
          case DW_ATE_decimal_float:
            out->kind = TypeDesc::floating;
            break;
          case DW_ATE_signed:
            out->kind = TypeDesc::sint;
            break;
          case DW_ATE_signed_char:
          case DW_ATE_unsigned_char:
            out->kind = size == 1 ? TypeDesc::character
                                  : (enc == DW_ATE_signed_char ? TypeDesc::sint : TypeDesc::uint);
            break;
          case DW_ATE_unsigned:
          case DW_ATE_UTF:
            out->kind = TypeDesc::uint;
            break;
          default:
            break;
        }
        return;
      }
      case DW_TAG_pointer_type:
      case DW_TAG_reference_type:
      case DW_TAG_rvalue_reference_type:
        out->kind = TypeDesc::pointer;
        if (!out->size) out->size = 8;
        return;
      case DW_TAG_enumeration_type: {
        out->kind = TypeDesc::enumeration;
        Dwarf_Die child;
        if (dwarf_child(&cur, &child) != 0) return;
        do {
          if (dwarf_tag(&child) != DW_TAG_enumerator) continue;
          Dwarf_Attribute a;
          Dwarf_Sword v = 0;
          if (!dwarf_attr(&child, DW_AT_const_value, &a) || dwarf_formsdata(&a, &v) != 0) continue;
          out->enumerators.emplace_back(v, name_of(&child));
        } while (dwarf_siblingof(&child, &child) == 0);
        return;
      }
      case DW_TAG_structure_type:
      case DW_TAG_class_type:
        out->kind = TypeDesc::record;
        describe_record(&cur, depth, out);
        return;
      case DW_TAG_union_type:
        out->kind = TypeDesc::union_;
        describe_record(&cur, depth, out);
        return;
      default:
        return;  // arrays, pointers to members, ...: unknown, with the size
    }
  }
}

// The CU's directory, to show file names relative to it.
std::string comp_dir_of(Dwarf_Die *cu) {
  Dwarf_Attribute a;
  const char *d = dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &a));
  return d ? d : "";
}

void add_function(Dwarf_Die *die, const std::string &comp_dir, ModuleDebug *out) {
  Dwarf_Addr lowpc;
  if (dwarf_lowpc(die, &lowpc) != 0) return;
  FunctionInfo f;
  if (const char *file = dwarf_decl_file(die)) {
    f.file = file;
    if (!comp_dir.empty() && f.file.size() > comp_dir.size() + 1 &&
        f.file.compare(0, comp_dir.size(), comp_dir) == 0 && f.file[comp_dir.size()] == '/')
      f.file = f.file.substr(comp_dir.size() + 1);
  }
  dwarf_decl_line(die, &f.line);
  // DW_CC_nocall: the compiler changed the calling convention (an internal
  // function whose dead parameters were removed): registers do not follow
  // the declared parameters, so they are not named.
  Dwarf_Word cc = DW_CC_normal;
  udata_of(die, DW_AT_calling_convention, &cc);
  f.has_params = cc != DW_CC_nocall;
  Dwarf_Die child;
  if (f.has_params && dwarf_child(die, &child) == 0) {
    do {
      int tag = dwarf_tag(&child);
      if (tag == DW_TAG_unspecified_parameters) f.variadic = true;
      if (tag != DW_TAG_formal_parameter) continue;
      Param p;
      p.name = name_of(&child);
      describe_type_of(&child, 0, &p.type);
      f.params.push_back(std::move(p));
    } while (dwarf_siblingof(&child, &child) == 0);
  }
  describe_type_of(die, 0, &f.ret);
  out->functions.emplace(lowpc, std::move(f));
}

// Functions sit at CU level, in namespaces, and (C++ in-class definitions
// emitted by some compilers) in classes.
void walk(Dwarf_Die *parent, const std::string &comp_dir, ModuleDebug *out, int depth) {
  Dwarf_Die child;
  if (depth > 8 || dwarf_child(parent, &child) != 0) return;
  do {
    switch (dwarf_tag(&child)) {
      case DW_TAG_subprogram:
        add_function(&child, comp_dir, out);
        break;
      case DW_TAG_namespace:
      case DW_TAG_structure_type:
      case DW_TAG_class_type:
        walk(&child, comp_dir, out, depth + 1);
        break;
      default:
        break;
    }
  } while (dwarf_siblingof(&child, &child) == 0);
}

// Closes what it opened.
struct ElfFile {
  int fd = -1;
  Elf *elf = nullptr;
  explicit ElfFile(const std::string &path) {
    fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  }
  ~ElfFile() {
    if (elf) elf_end(elf);
    if (fd >= 0) close(fd);
  }
};

// The file's GNU build-id, raw bytes ("" without one).
std::string build_id_of(Elf *elf) {
  const void *id = nullptr;
  ssize_t n = dwelf_elf_gnu_build_id(elf, &id);
  return n > 0 ? std::string(static_cast<const char *>(id), static_cast<size_t>(n)) : "";
}

std::string hex_of(const std::string &bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char b : bytes) {
    hex += digits[b >> 4];
    hex += digits[b & 15];
  }
  return hex;
}

std::string build_id_debug_path(Elf *elf) {
  std::string hex = hex_of(build_id_of(elf));
  if (hex.size() < 4) return "";
  return "/usr/lib/debug/.build-id/" + hex.substr(0, 2) + "/" + hex.substr(2) + ".debug";
}

}  // namespace

void load_module_debug(const std::string &path, const std::string &recorded_build_id,
                       ModuleDebug *out) {
  out->loaded = true;
  elf_version(EV_CURRENT);
  ElfFile file(path);
  if (!file.elf || elf_kind(file.elf) != ELF_K_ELF) {
    out->error = path + ": not a readable ELF file";
    return;
  }
  if (std::string on_disk = build_id_of(file.elf);
      !recorded_build_id.empty() && on_disk != recorded_build_id) {
    out->replaced = true;
    out->error = path + " is not the file recorded (build-id " + hex_of(recorded_build_id) +
                 " in the trace, " + (on_disk.empty() ? "none" : hex_of(on_disk)) +
                 " on disk): no argument names or source lines from it";
    return;
  }
  GElf_Ehdr eh;
  if (!gelf_getehdr(file.elf, &eh)) {
    out->error = path + ": no ELF header";
    return;
  }
  out->abi = eh.e_machine == EM_X86_64    ? Abi::x86_64
             : eh.e_machine == EM_AARCH64 ? Abi::aarch64
                                          : Abi::other;
  size_t phnum = 0;
  bool first = true;
  if (elf_getphdrnum(file.elf, &phnum) == 0)
    for (size_t i = 0; i < phnum; i++) {
      GElf_Phdr ph;
      if (!gelf_getphdr(file.elf, static_cast<int>(i), &ph) || ph.p_type != PT_LOAD) continue;
      if (first || ph.p_vaddr < out->min_vaddr) out->min_vaddr = ph.p_vaddr;
      first = false;
    }
  Dwarf *dw = dwarf_begin_elf(file.elf, DWARF_C_READ, nullptr);
  std::unique_ptr<ElfFile> debug_file;
  if (!dw) {
    std::string debug = build_id_debug_path(file.elf);
    if (!debug.empty() && access(debug.c_str(), R_OK) == 0) {
      debug_file = std::make_unique<ElfFile>(debug);
      if (debug_file->elf) dw = dwarf_begin_elf(debug_file->elf, DWARF_C_READ, nullptr);
    }
  }
  if (!dw) {
    out->error = path + ": no DWARF debug info";
    return;
  }
  Dwarf_Off off = 0, next = 0;
  size_t header = 0;
  while (dwarf_nextcu(dw, off, &next, &header, nullptr, nullptr, nullptr) == 0) {
    Dwarf_Die cu;
    if (dwarf_offdie(dw, off + header, &cu)) walk(&cu, comp_dir_of(&cu), out, 0);
    off = next;
  }
  dwarf_end(dw);
}

ModuleDebug &DebugInfo::module(const reader::Module &m) {
  ModuleDebug &d = modules_[m.path];
  if (!d.loaded) {
    load_module_debug(m.path, m.build_id, &d);
    // Said once per module: the output stays readable, with raw values.
    if (d.replaced) std::fprintf(stderr, "sled: warning: %s\n", d.error.c_str());
  }
  return d;
}

const FunctionInfo *DebugInfo::function(const reader::Module &m, uintptr_t ip) {
  if (m.path.empty()) return nullptr;
  ModuleDebug &d = module(m);
  uint64_t bias = m.lo - d.min_vaddr;
  auto it = d.functions.find(ip - bias);
  return it == d.functions.end() ? nullptr : &it->second;
}

Abi DebugInfo::abi(const reader::Module &m) { return module(m).abi; }

}  // namespace sled::cli
