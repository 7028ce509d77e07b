/**
 * The smallest file an ISO 9660 reader recognises: 32 KiB of system area, then a primary volume
 * descriptor (type 1, "CD001", version 1) and a set terminator (type 255) (ECMA-119 8.1, 8.3, 8.4).
 * A stand-in for an installation ISO where only its kind matters.
 */
export function isoStandIn(label = 'stand-in'): Buffer {
  const b = Buffer.alloc(32768 + 2 * 2048);
  const pvd = 32768;
  b[pvd] = 1;
  b.write('CD001', pvd + 1, 'latin1');
  b[pvd + 6] = 1;
  b.write(label.toUpperCase().padEnd(32).slice(0, 32), pvd + 40, 'latin1');
  const end = pvd + 2048;
  b[end] = 255;
  b.write('CD001', end + 1, 'latin1');
  b[end + 6] = 1;
  return b;
}
