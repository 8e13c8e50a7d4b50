import { NqUnsupportedError } from '@nq/core';

/** `nq discover`: evolution-strategy search over structured rotations, from @nq/es-search. */
export async function discoverCommand(): Promise<never> {
  throw new NqUnsupportedError(
    '`nq discover` (ES search over structured rotations)',
    'It is not implemented yet: it needs @nq/es-search, which is not in this workspace. Meanwhile compare fixed rotations with `nq sweep block-size-spectrum`.',
  );
}
