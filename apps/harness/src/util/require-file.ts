import fs from 'node:fs';
import { NqInputError } from '@nq/core';

/** Throws an NqInputError naming the CLI flag when `file` does not exist. */
export function requireFile(flag: string, file: string, remedy: string): void {
  if (!fs.existsSync(file)) throw new NqInputError(flag, `${file} does not exist`, remedy);
}
