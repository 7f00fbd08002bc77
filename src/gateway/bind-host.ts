/** The address `gateway.bind` (or `--bind`) names: `loopback`, `lan`, or an address as written. */
export function hostFor(bind: string): string {
  if (bind === 'loopback') return '127.0.0.1';
  if (bind === 'lan') return '0.0.0.0';
  return bind;
}
