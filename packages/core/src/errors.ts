// Typed errors. Every error nq throws for bad input names the argument, says what was wrong with it
// and what to do instead, so a user never has to read a stack trace into a kernel to find the cause.

/** Base class of every error nq throws on purpose. `code` is stable and machine-readable. */
export class NqError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A caller passed an invalid value: wrong shape, NaN/Inf, out-of-range option, bad spec. */
export class NqInputError extends NqError {
  readonly argument: string;
  readonly remedy: string;
  constructor(argument: string, problem: string, remedy: string, options?: { cause?: unknown }) {
    super('NQ_INPUT', `${argument}: ${problem}. ${remedy}`, options);
    this.argument = argument;
    this.remedy = remedy;
  }
}

/** A file (model, cache, results) is truncated, corrupt, of the wrong kind, or hostile. */
export class NqFormatError extends NqError {
  readonly file: string;
  constructor(file: string, problem: string, options?: { cause?: unknown }) {
    super('NQ_FORMAT', `${file}: ${problem}`, options);
    this.file = file;
  }
}

/** A size, dtype or feature that nq does not (yet) support; the message lists what is supported. */
export class NqUnsupportedError extends NqError {
  constructor(what: string, supported: string, options?: { cause?: unknown }) {
    super('NQ_UNSUPPORTED', `${what} is not supported. ${supported}`, options);
  }
}

/** A backend (WebGPU adapter, gpu.js mode) could not be acquired or failed at run time. */
export class NqBackendError extends NqError {
  readonly backend: string;
  constructor(backend: string, problem: string, options?: { cause?: unknown }) {
    super('NQ_BACKEND', `${backend}: ${problem}`, options);
    this.backend = backend;
  }
}
