import { BoundError, mib, type DomainFacts } from './qos.js';

const MiB = 1024 ** 2;

/**
 * The lowest live memory target for a running domain, and where it comes from.
 *
 * - dom0 under xl: 128 MiB. libxl_set_memory_target() refuses a dom0 target below
 *   LIBXL_MIN_DOM0_MEM (128*1024 kB) — tools/libs/light/libxl_mem.c and libxl_internal.h,
 *   Xen RELEASE-4.17.0.
 * - xe: the VM's memory-static-min. xapi keeps static-min ≤ dynamic-min ≤ dynamic-max ≤
 *   static-max (Vm_memory_constraints.assert_valid, ocaml/xapi/xapi_vm_memory_constraints.ml,
 *   xen-api v1.249.0).
 * - any other guest under xl or xm: libxl has no lower bound for a domU (libxl_set_memory_target
 *   checks only the maximum; xend's setMemoryTarget only dom0-min-mem), and xl.1's mem-set says
 *   there is no way to know how small a target makes a guest crash. The floor taken here is
 *   xapi's: memory-ratio-pv / memory-ratio-hvm, "memory-dynamic-min >= k * memory-static-max"
 *   with k = 0.25 (ocaml/xapi/xapi_globs.ml, v1.249.0), the bound XCP-ng and XenServer give a
 *   guest's dynamic range. A bare `--memory 1` is 1 MiB, and is refused here.
 */
export function liveMemoryFloor(f: DomainFacts): { bytes: number; why: string } {
  if (f.toolstack === 'xe') {
    return { bytes: f.minMemory ?? 0, why: 'its memory-static-min (xapi keeps static-min ≤ dynamic-min)' };
  }
  if (f.toolstack === 'xl' && (f.domid === 0 || f.name === 'Domain-0')) {
    return { bytes: 128 * MiB, why: "libxl's minimum for dom0 (LIBXL_MIN_DOM0_MEM)" };
  }
  if (!Number.isFinite(f.maxMemory) || f.maxMemory <= 0) return { bytes: MiB, why: 'one MiB' };
  return {
    bytes: Math.ceil(f.maxMemory / 4 / MiB) * MiB,
    why: 'a quarter of its boot maximum (xl has no floor for a guest; xapi’s default memory-ratio: dynamic-min ≥ 0.25 × static-max)',
  };
}

/** Throws a BoundError when `bytes` is below the running domain's live floor. */
export function checkLiveMemoryFloor(bytes: number, f: DomainFacts): void {
  const floor = liveMemoryFloor(f);
  if (bytes < floor.bytes) {
    throw new BoundError(
      'live memory floor',
      `memory ${mib(bytes)} MiB is below ${mib(floor.bytes)} MiB, ${floor.why}: a guest shrunk below what it uses crashes`,
    );
  }
}
