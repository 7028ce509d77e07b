/**
 * MAC addresses given for a guest's network interface. A NIC's own address must be unicast: the
 * low bit of the first octet (the I/G bit, IEEE 802-2014 §8.2) set means a group address, which a
 * bridge floods and a guest cannot own; ff:ff:ff:ff:ff:ff is broadcast; all zeros is no address.
 * The locally administered bit (0x02 of the first octet) is allowed: it is meant for addresses an
 * administrator assigns.
 */
export const MAC_SYNTAX = /^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$/;

/** Why `text` cannot be a guest NIC's address, or undefined when it can. */
export function macProblem(text: string): string | undefined {
  if (!MAC_SYNTAX.test(text)) return 'expected six hex bytes separated by colons, e.g. 00:16:3e:12:34:56';
  const octets = text.split(':').map((h) => parseInt(h, 16));
  if (octets.every((o) => o === 0xff)) return 'it is the broadcast address; give a unicast address';
  if (octets.every((o) => o === 0)) return 'the all-zero address is no address; give a unicast address';
  if (((octets[0] as number) & 1) === 1) {
    return 'it is a multicast address (the first octet is odd); give a unicast address, e.g. 00:16:3e:12:34:56';
  }
  return undefined;
}

/** The address in lower case, as xl, xm and xe print it; throws on a problem. */
export function normalizeMac(text: string): string {
  const problem = macProblem(text);
  if (problem) throw new TypeError(problem);
  return text.toLowerCase();
}
